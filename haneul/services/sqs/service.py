"""Amazon SQS: standard and FIFO queues, long polling, dead-letter queues and redrive.

The operations are split by resource: queues.py (queues, attributes, tags, permissions),
messages.py (send, receive, delete, visibility) and moves.py (dead-letter queues and
message move tasks).  State is in the store only (storage.py); waiters.py holds the
in-memory wake-ups of long polls.
"""

from __future__ import annotations

from haneul.services.base import Service
from haneul.services.sqs.errors import QUERY_ERROR_CODES as _QUERY_ERROR_CODES
from haneul.services.sqs.messages import MessageOperations
from haneul.services.sqs.moves import RedriveOperations
from haneul.services.sqs.queues import QueueOperations
from haneul.services.sqs.storage import SCHEMA as _SCHEMA


class Sqs(QueueOperations, MessageOperations, RedriveOperations, Service):
    SCHEMA = _SCHEMA
    # Constraint violations found before dispatch: AWS's generic coral error, sent to
    # query clients as "InvalidParameterValue".
    VALIDATION_ERROR = "InvalidParameterValueException"
    QUERY_ERROR_CODES = _QUERY_ERROR_CODES
    # ReceiveMessage's AttributeNames is typed QueueAttributeName but takes message system
    # attribute names too (ApproximateReceiveCount, ...); the service checks names itself.
    UNCHECKED_ENUMS = frozenset({"QueueAttributeName"})
