"""OCR engines behind one small contract: an RGB page image in, positioned words out.

Each engine is created once per process (and per thread setting) and reused for every receipt.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import statistics
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps

from ocr import ranker, spaces
from ocr.model import OcrConfig, Word

ENGINES: tuple[str, ...] = ("rapidocr", "tesseract")


@dataclass(frozen=True)
class PageText:
    """The words read on one page, plus the page's measured skew (slope dy/dx of text lines)."""

    words: tuple[Word, ...]
    skew: float = 0.0
    # the recognised segments the words came from, with their measured gaps (ocr.spaces); kept
    # so that training can decide the spaces again with a new gap model
    segments: tuple[spaces.Segment, ...] = ()


class Engine(Protocol):
    name: str

    def read(self, image: Image.Image) -> PageText: ...


RUNTIMES: tuple[str, ...] = ("auto", "openvino", "onnxruntime")


def get_engine(name: str, threads: int = 0, runtime: str = "auto") -> Engine:
    """The process-wide engine called ``name`` (created on first use).

    ``runtime`` runs RapidOCR's networks: OpenVINO (the same models for ~2x less CPU once warm,
    computed in bfloat16 where the CPU supports it; ~1 s more to load and to meet the first
    receipt) or onnxruntime (float32); "auto" is OpenVINO where it is installed. Tesseract ignores it.
    """
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown OCR runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    return _engine(name, threads, effective_runtime(name, runtime))


def max_page_side(config: OcrConfig) -> int:
    """The longest side, in pixels, a page is reduced to before ``config.engine`` reads it."""
    if config.engine == "rapidocr":
        return min(config.max_side, RAPIDOCR_MAX_SIDE)
    return config.max_side


def effective_runtime(name: str, runtime: str) -> str | None:
    """The runtime engine ``name`` really uses when ``runtime`` is asked for (None: tesseract)."""
    if name == "tesseract":
        return None
    if runtime in ("auto", "openvino") and not _openvino_available():
        return "onnxruntime"
    return "openvino" if runtime == "auto" else runtime


@functools.cache
def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _engine(name: str, threads: int, runtime: str | None) -> Engine:
    if name == "tesseract":
        return TesseractEngine(threads)
    return RapidOcrEngine(threads, runtime or "onnxruntime")


def _split_words(text: str, box: tuple[int, int, int, int], confidence: float) -> list[Word]:
    """Split one recognised text segment into words, with boxes in proportion to character offsets."""
    left, top, right, bottom = box
    if not text.strip():
        return []
    width = max(right - left, 1)
    n = max(len(text), 1)
    words: list[Word] = []
    start = 0
    for part in text.split(" "):
        if part:
            x0 = left + width * start // n
            x1 = left + width * (start + len(part)) // n
            words.append(Word(part, x0, top, max(x1, x0 + 1), bottom, confidence))
        start += len(part) + 1
    return words


class RapidOcrEngine:
    """PP-OCRv4 detection and recognition (the models ship inside RapidOCR's wheel), run by
    OpenVINO or onnxruntime."""

    name = "rapidocr"

    def __init__(self, threads: int = 0, runtime: str = "onnxruntime") -> None:
        from rapidocr_onnxruntime import RapidOCR

        # RapidOCR takes these as top-level keys and copies the thread counts to every model.
        params: dict[str, Any] = {"use_cls": False, "print_verbose": False, "max_side_len": RAPIDOCR_MAX_SIDE}
        if threads > 0:
            params["intra_op_num_threads"] = threads
            params["inter_op_num_threads"] = 1
        self.runtime = runtime
        self._lock = threading.Lock()
        sessions = _openvino_sessions() if runtime == "openvino" else _lean_sessions()
        with sessions:
            self._ocr = RapidOCR(**params)
        channels, height, _width = self._ocr.text_rec.rec_image_shape
        self._ocr.text_rec.rec_image_shape = [channels, height, REC_MIN_WIDTH]
        # Memory follows the size of each network input: bound it on long pages and wide lines.
        self._ocr.text_det.infer = BandedDetector(self._ocr.text_det.infer)
        self._ocr.text_rec = LineRecogniser(self._ocr.text_rec)

    def recognise(self, image: Image.Image) -> list[RawSegment]:
        """Detected text segments: (corner points, text, score, characters, character boxes)."""
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        array = np.ascontiguousarray(rgb[:, :, ::-1])  # BGR, like OpenCV
        del rgb
        # One reading at a time per engine: the detector's input size is set per page, and an
        # OpenVINO infer request must not run two inferences at once.
        with self._lock:
            self._limit_detection(*array.shape[:2])
            result, _ = self._ocr(array, use_cls=False, return_word_box=True)
            _return_free_memory()
        segments: list[RawSegment] = []
        for item in result or []:
            quad = [(float(p[0]), float(p[1])) for p in item[0]]
            chars = [str(c) for c in item[4]] if len(item) > 4 else []
            char_boxes = [[(float(p[0]), float(p[1])) for p in b] for b in item[3]] if len(item) > 4 else []
            segments.append((quad, str(item[1]), float(item[2]), chars, char_boxes))
        return segments

    def read(self, image: Image.Image) -> PageText:
        return page_from_segments(self.recognise(image), np.asarray(image.convert("L")))

    def _limit_detection(self, height: int, width: int) -> None:
        """Size the detector's input: small text enlarged to DET_MIN_SIDE on the short side, but at
        most DET_MAX_PIXELS in all, which bounds memory on long receipts (recognition still reads
        the characters at full resolution)."""
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

        ratio = self._ocr.max_side_len / max(height, width, 1)
        if ratio < 1:  # RapidOCR first shrinks the page to its maximum side
            height, width = int(height * ratio), int(width * ratio)
        short, long = max(min(height, width), 1), max(height, width, 1)
        scale = max(1.0, DET_MIN_SIDE / short)
        if short * long * scale * scale > DET_MAX_PIXELS:
            scale = (DET_MAX_PIXELS / (short * long)) ** 0.5
        det = self._ocr.text_det
        if scale >= 1:
            pre = LeanDetPreProcess(DetPreProcess(round(short * scale), "min", det.mean, det.std))
        else:
            pre = LeanDetPreProcess(DetPreProcess(round(long * scale), "max", det.mean, det.std))
        det.get_preprocess = lambda _max_wh: pre


def _return_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc only; elsewhere nothing to do).

    A reading frees hundreds of MB in blocks scattered through the heap, which glibc otherwise keeps.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> Any:
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into the process, the C library's among them
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


class LeanDetPreProcess:
    """RapidOCR's detector input (the page resized to a multiple of 32, normalised, channels first),
    left as 8-bit pixels until the detector runs: each window is normalised in float32 on its own,
    instead of the whole page at once in float64 (~100 MB less on a large page)."""

    def __init__(self, resizer: Any) -> None:
        self._resizer = resizer  # RapidOCR's DetPreProcess: its size rule, scale, mean and std

    def __call__(self, img: Any) -> DetectorPage | None:
        resized = self._resizer.resize(img)
        if resized is None:
            return None
        mean, std = self._resizer.mean, self._resizer.std
        return DetectorPage(
            resized, float(self._resizer.scale), tuple(map(float, mean)), tuple(map(float, std))
        )


@dataclass(frozen=True)
class DetectorPage:
    """A page resized for the detector, in 8-bit pixels (height x width x 3), normalised on demand."""

    pixels: Any
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (1, 3, *self.pixels.shape[:2])

    def tensor(self, rows: slice = slice(None), cols: slice = slice(None)) -> Any:
        """The network input (1 x 3 x h x w, float32) for part of the page."""
        part = self.pixels[rows, cols]
        out = np.empty((1, 3, *part.shape[:2]), dtype=np.float32)
        for c in range(3):
            channel = out[0, c]
            np.multiply(part[:, :, c], np.float32(self.scale), out=channel, casting="unsafe")
            channel -= np.float32(self.mean[c])
            channel /= np.float32(self.std[c])
        return out


class BandedDetector:
    """Runs the text detector over overlapping windows of the page and stitches the probability map.

    The detector is convolutional, so the middle of each window closely matches what the whole page
    gives, while memory follows the window's size instead of the page's (about 200 MB per million
    input pixels). Windows run down the longer side; every window of a page has the same shape, and
    the page is padded across to a multiple of ``step`` pixels, so that pages of similar size share
    input shapes (each new shape costs the runtime a kernel compilation).
    """

    def __init__(
        self,
        session: Any,
        band_pixels: int | None = None,
        overlap: int | None = None,
        step: int | None = None,
    ) -> None:
        self._session = session
        self.band_pixels = band_pixels or DET_BAND_PIXELS
        self.overlap = overlap if overlap is not None else DET_BAND_OVERLAP
        self.step = step or DET_SIZE_STEP

    def __call__(self, page: Any) -> list[Any]:
        """``page``: a DetectorPage, or a normalised batch (n x 3 x height x width)."""
        count, _, height, width = page.shape
        down = height >= width  # windows are rows of the page; otherwise columns
        length, across = (height, width) if down else (width, height)
        padded = -(-across // self.step) * self.step
        band = max(32, self.band_pixels // padded // 32 * 32)
        window = band + 2 * self.overlap
        if length <= window:  # one window holds the page
            window = band = -(-length // self.step) * self.step
        stitched = np.empty((count, 1, height, width), dtype=np.float32)
        for start in range(0, length, band):
            stop = min(start + band, length)
            lo = max(0, min(start - self.overlap, length - window))
            span = slice(lo, lo + window)
            piece = _part(page, span, slice(None)) if down else _part(page, slice(None), span)
            rows, cols = (window, padded) if down else (padded, window)
            if piece.shape[2:] != (rows, cols):  # edge pixels repeated out to the shared shape
                extra = ((0, 0), (0, 0), (0, rows - piece.shape[2]), (0, cols - piece.shape[3]))
                piece = np.pad(piece, extra, mode="edge")
            pred = self._session(np.ascontiguousarray(piece))[0]
            if down:
                stitched[:, :, start:stop, :] = pred[:, :, start - lo : stop - lo, :width]
            else:
                stitched[:, :, :, start:stop] = pred[:, :, :height, start - lo : stop - lo]
        return [stitched]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _part(page: Any, rows: slice, cols: slice) -> Any:
    if isinstance(page, DetectorPage):
        return page.tensor(rows, cols)
    return page[:, :, rows, cols]


class LineRecogniser:
    """Reads RapidOCR's cropped text lines, in place of its TextRecognizer loop.

    Lines are sorted by width and read in batches like RapidOCR does, with two differences that
    bound memory and time: a batch holds at most ``max_width`` pixels of padded line width in all
    (memory follows it), and the padded width is rounded up to ``width_step`` so that batches of
    similar lines share one input shape (each new shape costs the runtime a kernel compilation).
    """

    def __init__(self, recognizer: Any, max_width: int | None = None, width_step: int | None = None) -> None:
        self._rec = recognizer  # RapidOCR's TextRecognizer: its session, resizing and CTC decoding
        self.max_width = max_width or REC_MAX_BATCH_WIDTH
        self.width_step = width_step or REC_WIDTH_STEP

    def __call__(self, lines: Any, return_word_box: bool = False) -> tuple[list[Any], float]:
        if isinstance(lines, np.ndarray):
            lines = [lines]
        _channels, height, min_width = self._rec.rec_image_shape[:3]
        ratios = [line.shape[1] / float(line.shape[0]) for line in lines]
        order = np.argsort(np.array(ratios))
        results: list[Any] = [("", 0.0)] * len(lines)
        start = 0
        while start < len(order):
            stop = start
            width = min_width
            while stop < len(order) and stop - start < self._rec.rec_batch_num:
                wanted = self._padded_width(max(width, height * ratios[order[stop]]))
                if stop > start and (stop - start + 1) * wanted > self.max_width:
                    break
                width = wanted
                stop += 1
            batch_ratio = (width + 0.5) / height  # int(height * ratio) is exactly ``width``
            batch = np.stack([self._rec.resize_norm_img(lines[i], batch_ratio) for i in order[start:stop]])
            preds = self._rec.session(batch.astype(np.float32, copy=False))[0]
            decoded = self._rec.postprocess_op(
                preds,
                return_word_box,
                wh_ratio_list=[ratios[i] for i in order[start:stop]],
                max_wh_ratio=batch_ratio,
            )
            for i, one in zip(order[start:stop], decoded, strict=True):
                results[i] = one
            start = stop
        return results, 0.0

    def _padded_width(self, width: float) -> int:
        return int(math.ceil(width / self.width_step) * self.width_step)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rec, name)


class OpenVinoSession:
    """Stands in for RapidOCR's onnxruntime session: the same ONNX model, compiled by OpenVINO.

    OpenVINO's CPU plugin computes in bfloat16 where the processor has it (AVX512-BF16, AMX) and in
    float32 elsewhere. On the 150 dev receipts of ``eval-ocr`` (a CPU with AVX512-BF16) bfloat16 read
    98.0% / 99.3% / 90.0% of totals / dates / merchants at 0.46 s per receipt, float32 97.3% /
    99.3% / 88.7% at 0.98 s, the latter as onnxruntime does. Threads are not pinned to cores, so
    several reading processes share the machine's cores.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        # oneDNN caches up to 1,024 compiled kernels by default, ~250 MB per process once a few
        # receipts are read; 64 keep what repeats (a page's windows, batches of similar lines).
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(KERNEL_CACHE_CAPACITY))
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(config["model_path"]))
        # the recogniser's character list travels in the model; the graph itself is not kept
        self._characters: str | None = None
        if model.has_rt_info(["framework", "character"]):
            self._characters = str(model.get_rt_info(["framework", "character"]).astype(str))
        properties: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,
            # OpenVINO's own per-shape cache holds on to memory; oneDNN's small kernel cache (above)
            # already keeps what repeats
            "CPU_RUNTIME_CACHE_CAPACITY": 0,
        }
        threads = int(config.get("intra_op_num_threads", -1))
        if threads > 0:
            properties["INFERENCE_NUM_THREADS"] = threads
        compiled = core.compile_model(model, "CPU", properties)
        del model
        self._request = compiled.create_infer_request()
        self._output = compiled.output(0)

    def __call__(self, batch: Any) -> list[Any]:
        return [self._request.infer([batch])[self._output]]

    def have_key(self, key: str = "character") -> bool:
        return key == "character" and self._characters is not None

    def get_character_list(self, key: str = "character") -> list[str]:
        return (self._characters or "").splitlines()


@contextlib.contextmanager
def _openvino_sessions() -> Iterator[None]:
    """While RapidOCR builds its models, let OpenVINO load them instead of onnxruntime."""
    from rapidocr_onnxruntime.ch_ppocr_cls import text_cls
    from rapidocr_onnxruntime.ch_ppocr_det import text_detect
    from rapidocr_onnxruntime.ch_ppocr_rec import text_recognize

    modules: list[Any] = [text_cls, text_detect, text_recognize]
    originals = [module.OrtInferSession for module in modules]
    for module in modules:
        module.OrtInferSession = OpenVinoSession
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.OrtInferSession = original


@contextlib.contextmanager
def _lean_sessions() -> Iterator[None]:
    """While RapidOCR builds its onnxruntime sessions, switch off the memory pattern: it plans and
    keeps one allocation layout per input shape, and every receipt line has a new shape."""
    from rapidocr_onnxruntime.utils import infer_engine

    session_class: Any = infer_engine.OrtInferSession
    original = session_class.__dict__["_init_sess_opts"]

    def options(config: dict[str, Any]) -> Any:
        opts = original.__func__(config)
        opts.enable_mem_pattern = False
        return opts

    session_class._init_sess_opts = staticmethod(options)
    try:
        yield
    finally:
        session_class._init_sess_opts = original


# RapidOCR reduces larger pages to this many pixels on the longer side (its own default) before
# reading; pages are brought to it once, on decoding (see max_page_side).
RAPIDOCR_MAX_SIDE = 2000

# Recognition pads each batch of text lines to at least this width (at 48 px height); RapidOCR's
# 320 makes short words such as amounts cost as much as a line of 40 characters.
REC_MIN_WIDTH = 160

# The detector reads text best with the page's short side near this size...
DET_MIN_SIDE = 736
# ...but at most this many pixels: time grows with them (a 1 MP cap lost small print on large
# photos; memory is bounded by the windows below, not by this).
DET_MAX_PIXELS = 2_000_000


# The detector runs on bands of at most this many input pixels (plus their overlap)...
DET_BAND_PIXELS = 300_000
# ...each seeing this many pixels of the page beyond its own edges.
DET_BAND_OVERLAP = 64
# Pages are padded across to a multiple of this many pixels for the detector (see BandedDetector).
DET_SIZE_STEP = 128
# One recognition run holds text lines of at most this total width (at 48 px height).
REC_MAX_BATCH_WIDTH = 2000
# Batches are padded to a multiple of this width, so that similar lines share an input shape.
REC_WIDTH_STEP = 64

# Compiled kernels oneDNN keeps for OpenVINO (see OpenVinoSession).
KERNEL_CACHE_CAPACITY = 64

# (corner points, text, score, characters, character corner points)
RawSegment = tuple[list[tuple[float, float]], str, float, list[str], list[list[tuple[float, float]]]]


def restore_spaces_by_ink(
    chars: list[str], boxes: list[list[tuple[float, float]]], line: Any, top: int = 0
) -> str:
    """The segment's text with its spaces decided from the pixels (``ocr.spaces``): by the shipped
    gap model, or by the rule when there is none. ``line`` is the grey-level strip of the page that
    holds the segment. Two digits side by side are never split, so amounts and codes stay whole."""
    segment = spaces.measure(chars, boxes, line)
    if segment is None:
        return "".join(chars).strip()
    return spaces.spaced(segment, ranker.space_decisions(segment))


def measure_segments(segments: list[RawSegment], gray: Any = None) -> tuple[spaces.Segment, ...]:
    """Each recognised segment with the gaps between its characters measured on the grey page
    (none without the page or the recogniser's character boxes)."""
    measured: list[spaces.Segment] = []
    for quad, text, score, chars, char_boxes in segments:
        gaps = None
        if chars and gray is not None:
            top = max(int(min(p[1] for p in quad)), 0)
            bottom = min(math.ceil(max(p[1] for p in quad)), gray.shape[0])
            gaps = spaces.measure(chars, char_boxes, gray[top:bottom, :])
            if gaps is not None and gaps.characters != "".join(text.split()):
                gaps = None
        measured.append(spaces.Segment(tuple((float(x), float(y)) for x, y in quad), text, score, gaps))
    return tuple(measured)


def page_from_measured(
    segments: Sequence[spaces.Segment],
    decide: Callable[[spaces.SegmentGaps], list[bool]] | None = None,
) -> PageText:
    """Words and skew of a page from its measured segments, each segment's spaces decided by
    ``decide`` (the shipped gap model or rule, ``ocr.ranker.space_decisions``)."""
    decide = decide or ranker.space_decisions
    words: list[Word] = []
    slopes: list[float] = []
    for segment in segments:
        quad = segment.quad
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        box = (int(min(xs)), int(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
        text = segment.text if segment.gaps is None else spaces.spaced(segment.gaps, decide(segment.gaps))
        words.extend(_split_words(text, box, segment.score))
        dx = quad[1][0] - quad[0][0]
        if dx > 3 * (box[3] - box[1]) and dx > 0:
            slopes.append((quad[1][1] - quad[0][1]) / dx)
    skew = statistics.median(slopes) if slopes else 0.0
    return PageText(tuple(words), skew, tuple(segments))


def page_from_segments(segments: list[RawSegment], gray: Any = None) -> PageText:
    """Words from recognised segments; with the grey page, each segment's spaces are decided from
    the blank runs between its characters (``ocr.spaces``)."""
    return page_from_measured(measure_segments(segments, gray))


class TesseractEngine:
    """Tesseract through pytesseract, one word per box."""

    name = "tesseract"

    def __init__(self, threads: int = 0) -> None:
        import pytesseract

        # Tesseract's OpenMP threads cost more than they give on receipt-sized images.
        os.environ.setdefault("OMP_THREAD_LIMIT", str(threads if threads > 0 else 1))
        self._tess = pytesseract
        self.config = "--psm 4"

    def read(self, image: Image.Image) -> PageText:
        gray = ImageOps.grayscale(image)
        data = self._tess.image_to_data(
            gray, lang="eng", config=self.config, output_type=self._tess.Output.DICT
        )
        words: list[Word] = []
        for i, text in enumerate(data["text"]):
            text = str(text).strip()
            conf = float(data["conf"][i])
            if not text or conf < 0:
                continue
            left, top = int(data["left"][i]), int(data["top"][i])
            words.append(
                Word(text, left, top, left + int(data["width"][i]), top + int(data["height"][i]), conf / 100)
            )
        return PageText(tuple(words), 0.0)


def detect_rotation(image: Image.Image) -> int:
    """Degrees (0, 90, 180, 270) the page must be turned counter-clockwise to stand upright.

    Uses tesseract's orientation detector; returns 0 when it is unsure.
    """
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    small = ImageOps.grayscale(image)
    longest = max(small.size)
    if longest > 1600:
        small = small.resize((small.width * 1600 // longest, small.height * 1600 // longest))
    try:
        osd = pytesseract.image_to_osd(small, config="--psm 0", output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:
        return 0
    if float(osd.get("orientation_conf", 0.0)) < 1.0:
        return 0
    return int(osd.get("rotate", 0)) % 360
