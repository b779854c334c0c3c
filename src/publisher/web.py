"""`publisher.web:load_app`, the WSGI entry point that deployment guides written for earlier versions name; the
service itself lives in publisher.service."""

from .service.app import load_app

__all__ = ["load_app"]
