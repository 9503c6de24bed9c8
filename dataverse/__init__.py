"""Dataverse MCP: an MCP server on Azure Functions that lets ChatGPT and Claude work with Dataverse as the user."""
