"""Dataverse MCP: an MCP server on Azure Functions that lets ChatGPT and Claude work with Dataverse as the user."""

__version__ = "0.2.0"  # the MCP serverInfo.version; kept equal to pyproject.toml's (tests/test_version.py)
