"""Local stand-ins for outside services, served on a loopback port during tests."""
