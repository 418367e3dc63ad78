"""crawler: an async news crawler and change monitor."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/crawler-project/crawler"
