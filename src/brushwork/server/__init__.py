"""``brushwork serve``: a web page and an HTTP API over :func:`brushwork.stylize`, with jobs kept in
SQLite so that they survive restarts. Needs the ``web`` extra (FastAPI, uvicorn, python-multipart).

The app is :func:`brushwork.server.app.create_app`; this package itself imports only the
configuration, so that the command line can build its options without FastAPI installed.
"""

from brushwork.server.config import ServerConfig, default_data_dir, is_loopback

__all__ = ["ServerConfig", "default_data_dir", "is_loopback"]
