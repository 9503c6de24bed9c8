"""The sandbox as its own server, and app instances that use it over loopback as they would use the real services.

    python -m dataverse sandbox --port 7000      # server.py: the sandbox Dataverse and Entra ID on 127.0.0.1:7000

An app instance points at it with ordinary settings (instance.py prints and reads them): DATAVERSE_URLS is the
sandbox's Dataverse URL, and SANDBOX_SERVER_URL makes the app's MSAL client (real https authority, the sandbox app
registration's secret) send its requests there through an injected http_client. Several instances on one Table
Storage (Azurite) then share one sandbox, as several Azure instances share one Dataverse and one Entra ID.
Only the demo entry point, the benchmarks and the tests import this package.
"""

SANDBOX_DATAVERSE_PATH = "/sandbox/dataverse"  # where the sandbox server serves the Dataverse environment
