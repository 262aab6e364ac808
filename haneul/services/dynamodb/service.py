"""Amazon DynamoDB: tables, items, the expression language, Query/Scan, secondary indexes,
transactions, streams, TTL and PartiQL.  Operations not defined here answer not-implemented."""

from __future__ import annotations

from haneul.services.base import Service
from haneul.services.dynamodb.backups import BackupOps
from haneul.services.dynamodb.items import ItemOps
from haneul.services.dynamodb.partiql import PartiqlOps
from haneul.services.dynamodb.queries import QueryOps
from haneul.services.dynamodb.storage import SCHEMA
from haneul.services.dynamodb.tables import TableOps
from haneul.services.dynamodb.transactions import TransactOps


class DynamoDB(TableOps, ItemOps, QueryOps, TransactOps, PartiqlOps, BackupOps, Service):
    SCHEMA = SCHEMA
    NAMESPACE = "dynamodb"
