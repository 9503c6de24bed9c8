"""MCP Apps: the widgets that draw tool results in the client (a report chart, a record grid, a record card, a
timeline), served as `ui://` resources, and the capability that tells hosts they exist.

A tool shows its results in a widget by naming its URI: `@group.tool(..., widget=GRID_URI)`. The widgets read only
the tool result they are given; for more (the next page) they call our tools through the host, so the same user,
policy and audit apply. Their HTML lives in templates/.
"""

from dataverse.tools.apps.capability import advertise_apps_on_initialize
from dataverse.tools.apps.extension import apps_extension
from dataverse.tools.apps.widgets import CARD_URI, CHART_URI, GRID_URI, TIMELINE_URI, WIDGETS

__all__ = ["CARD_URI", "CHART_URI", "GRID_URI", "TIMELINE_URI", "WIDGETS", "advertise_apps_on_initialize",
           "apps_extension"]
