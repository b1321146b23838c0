"""Bookshelf: a small book lending service built with FastAPI and SQLAlchemy."""

__all__ = ["__version__"]

__version__ = "0.1.0"
