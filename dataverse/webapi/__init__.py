"""Dataverse Web API client: requests, paging, errors, retries, OData and FetchXML helpers, metadata.

Imports nothing from the rest of the project. Start with `create_http_client()` (one per process) and
`DataverseClient(environment_url, token_source, http=...)`.
"""

from .actions import EntityReference, EnumValue
from .batch import BatchOperationResult, BatchResult
from .batch_request import BatchRequest, ChangeSet
from .client import DataverseClient, TokenSource, create_http_client
from .csdl import find_operation, parse_operation_definitions
from .errors import (
    AuthenticationError,
    BadRequestError,
    ConcurrencyError,
    DataverseConnectionError,
    DataverseError,
    DataverseTimeoutError,
    NotFoundError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    UrlTooLongError,
)
from .fetchxml import InvalidFetchXmlError, entity_name, validate_fetch_xml, with_paging
from .models import (
    ActionDefinition,
    ChangeHistoryPage,
    ChoiceOption,
    ColumnChange,
    ColumnMetadata,
    DateTimeBehavior,
    FetchPage,
    ManyToManyRelationship,
    ManyToOneRelationship,
    OneToManyRelationship,
    OperationParameter,
    OperationResult,
    Page,
    RecordChange,
    SearchHit,
    TableMetadata,
    TableSummary,
    UserProfile,
    WhoAmI,
)
from .odata import format_guid, quote_string, validate_identifier, validate_logical_name
from .retry import RequestInfo, RetryPolicy
from .search import is_search_unavailable

__all__ = [
    "ActionDefinition",
    "AuthenticationError",
    "BadRequestError",
    "BatchOperationResult",
    "BatchRequest",
    "BatchResult",
    "ChangeHistoryPage",
    "ChangeSet",
    "ChoiceOption",
    "ColumnChange",
    "ColumnMetadata",
    "ConcurrencyError",
    "DataverseClient",
    "DataverseConnectionError",
    "DataverseError",
    "DataverseTimeoutError",
    "DateTimeBehavior",
    "EntityReference",
    "EnumValue",
    "FetchPage",
    "InvalidFetchXmlError",
    "ManyToManyRelationship",
    "ManyToOneRelationship",
    "NotFoundError",
    "OneToManyRelationship",
    "OperationParameter",
    "OperationResult",
    "OutcomeUnknownError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RecordChange",
    "RequestInfo",
    "RetryPolicy",
    "SearchHit",
    "ServerError",
    "TableMetadata",
    "TableSummary",
    "ThrottledError",
    "TokenSource",
    "UrlTooLongError",
    "UserProfile",
    "WhoAmI",
    "create_http_client",
    "entity_name",
    "find_operation",
    "format_guid",
    "is_search_unavailable",
    "parse_operation_definitions",
    "quote_string",
    "validate_fetch_xml",
    "validate_identifier",
    "validate_logical_name",
    "with_paging",
]
