from .asyncapi import AsyncApiKeywords
from .connections import ConnectionKeywords
from .fuzzing import FuzzingKeywords
from .heartbeat import HeartbeatKeywords
from .latency import LatencyKeywords
from .lifecycle import LifecycleKeywords
from .receiving import ReceivingKeywords
from .reconnect import ReconnectKeywords
from .requests import RequestKeywords
from .schema import SchemaKeywords
from .sending import SendingKeywords

__all__ = ["AsyncApiKeywords", "ConnectionKeywords", "FuzzingKeywords",
           "HeartbeatKeywords", "LatencyKeywords", "LifecycleKeywords",
           "ReceivingKeywords", "ReconnectKeywords", "RequestKeywords", "SchemaKeywords",
           "SendingKeywords"]
