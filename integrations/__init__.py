"""Connections to other business systems (today the CRMs); see docs/architecture.md.

Beside ``storage`` in the layer picture: may use ``storage`` and ``workflows``, never ``bot``.
"""
