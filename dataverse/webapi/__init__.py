"""Dataverse Web API client: requests, paging, errors, retries, OData and FetchXML helpers, metadata.

Imports nothing from the rest of the project. Start with `create_http_client()` (one per process) and
`DataverseClient(environment_url, token_source, http=...)`.
"""

from .client import DataverseClient, TokenSource, create_http_client
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
    ChangeHistoryPage,
    ChoiceOption,
    ColumnChange,
    ColumnMetadata,
    DateTimeBehavior,
    FetchPage,
    ManyToOneRelationship,
    OneToManyRelationship,
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
    "AuthenticationError",
    "BadRequestError",
    "ChangeHistoryPage",
    "ChoiceOption",
    "ColumnChange",
    "ColumnMetadata",
    "ConcurrencyError",
    "DataverseClient",
    "DataverseConnectionError",
    "DataverseError",
    "DataverseTimeoutError",
    "DateTimeBehavior",
    "FetchPage",
    "InvalidFetchXmlError",
    "ManyToOneRelationship",
    "NotFoundError",
    "OneToManyRelationship",
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
    "format_guid",
    "is_search_unavailable",
    "quote_string",
    "validate_fetch_xml",
    "validate_identifier",
    "validate_logical_name",
    "with_paging",
]
