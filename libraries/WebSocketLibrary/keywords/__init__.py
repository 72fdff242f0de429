from .connections import ConnectionKeywords
from .messages import MessageKeywords

__all__ = ["ConnectionKeywords", "MessageKeywords"]
