"""The sandbox Dataverse: a Web API v9.2 emulator faithful to the wire format in
shared/reference/dataverse-webapi.md."""
