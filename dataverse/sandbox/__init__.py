"""Local stand-ins for Dataverse and Entra ID, for the demo and the tests. Never wired in Azure."""
