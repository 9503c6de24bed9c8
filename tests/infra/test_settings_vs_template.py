"""The Bicep template and the settings model agree: every Settings field is set in Azure or is knowingly local-only,
every app setting the template sets is read by the code (or belongs to the Functions platform), and the defaults azd
feeds the template are the code's own defaults.

The template side is read from infra/main.bicep's one `var appSettings = { ... }` block with a deliberately small,
strict parser: one `KEY: value` per line, values on one line. Anything else in the block is an error, so the test
cannot silently skip a setting it failed to understand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dataverse.settings import Settings

INFRA = Path(__file__).resolve().parents[2] / "infra"
MAIN_BICEP = INFRA / "main.bicep"
FUNCTION_APP_BICEP = INFRA / "app" / "function-app.bicep"
PARAMETERS_JSON = INFRA / "main.parameters.json"

# The one documented set of Settings fields that Azure never sets, each with its reason.
LOCAL_ONLY_FIELDS: dict[str, str] = {
    "ENTRA_CLIENT_SECRET": "Azure uses the managed identity's federated credential; a secret exists only on a laptop.",
    "ENTRA_CERTIFICATE_PATH": "Local alternative to the secret; Azure uses the managed identity.",
    "ENTRA_CERTIFICATE_THUMBPRINT": "Belongs to ENTRA_CERTIFICATE_PATH, which is local-only.",
    "STORAGE_CONNECTION_STRING": "Azurite or a keyed account locally; Azure uses STORAGE_TABLE_ENDPOINT + identity.",
    "SANDBOX_SERVER_URL": "The sandbox server standing in for Entra ID in local runs and tests; never in Azure.",
}

# Settings owned by the Functions host / Azure Monitor rather than by dataverse/settings.py.
PLATFORM_PREFIXES = ("AzureWebJobsStorage__", "APPLICATIONINSIGHTS_")

# Never set on Flex Consumption (runtime comes from functionAppConfig) or never in Azure at all (keys).
FORBIDDEN_IN_AZURE = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
                      "AzureWebJobsStorage", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"}

_SETTING_LINE = re.compile(r"^  (?P<key>[A-Za-z_][A-Za-z0-9_]*): (?P<value>\S.*)$")
_PARAM_LINE = re.compile(r"^param (?P<name>\w+) (?P<type>\w+)(?: = (?P<default>.+))?$")
_AZD_REFERENCE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<default>[^}]*))?\}$")


class TemplateFormatError(ValueError):
    """The Bicep text is not in the shape this parser accepts."""


def parse_app_settings(bicep_text: str) -> dict[str, str]:
    """Map each key of the `var appSettings = { ... }` block to its value expression (verbatim Bicep text)."""
    lines = bicep_text.splitlines()
    starts = [index for index, line in enumerate(lines) if line == "var appSettings = {"]
    if len(starts) != 1:
        raise TemplateFormatError(f"expected exactly one 'var appSettings = {{' line, found {len(starts)}")
    settings: dict[str, str] = {}
    for line in lines[starts[0] + 1 :]:
        if line == "}":
            return settings
        if not line.strip() or line.strip().startswith("//"):
            continue
        match = _SETTING_LINE.match(line)
        if match is None:
            raise TemplateFormatError(f"not a one-line 'KEY: value' entry: {line!r}")
        key, value = match["key"], match["value"]
        if value.count("{") != value.count("}") or value.count("(") != value.count(")") or value.endswith(("[", "{")):
            raise TemplateFormatError(f"value of {key} is not complete on its line: {value!r}")
        if key in settings:
            raise TemplateFormatError(f"{key} is set twice")
        settings[key] = value
    raise TemplateFormatError("the appSettings block is never closed")


def parse_bicep_params(bicep_text: str) -> dict[str, str | None]:
    """Top-level `param name type [= default]` declarations: name -> default expression (None when required)."""
    return {m["name"]: m["default"] for line in bicep_text.splitlines() if (m := _PARAM_LINE.match(line))}


def parse_azd_parameters(parameters_json: str) -> dict[str, tuple[str, str | None]]:
    """main.parameters.json: bicep param -> (environment variable, `=default` text or None)."""
    parameters = json.loads(parameters_json)["parameters"]
    parsed: dict[str, tuple[str, str | None]] = {}
    for param, body in parameters.items():
        match = _AZD_REFERENCE.match(body["value"])
        if match is None:
            raise TemplateFormatError(
                f"{param}: value is not a single ${{NAME}} or ${{NAME=default}}: {body['value']!r}")
        parsed[param] = (match["name"], match["default"])
    return parsed


def settings_names(settings_model: type[Settings] = Settings) -> set[str]:
    return {name.upper() for name in settings_model.model_fields}


def missing_from_template(app_settings: dict[str, str], settings_model: type[Settings] = Settings) -> set[str]:
    """Settings fields the template does not set and that are not documented as local-only."""
    return settings_names(settings_model) - set(app_settings) - set(LOCAL_ONLY_FIELDS)


def unknown_to_code(app_settings: dict[str, str], settings_model: type[Settings] = Settings) -> set[str]:
    """App settings that are neither Settings fields nor recognised platform settings."""
    return {key for key in app_settings if key not in settings_names(settings_model)
            and not key.startswith(PLATFORM_PREFIXES)}


def parse_with_settings(env_name: str, text: str) -> object:
    """What the app would read from an app setting holding `text`."""
    field = env_name.lower()
    return getattr(Settings(**{field: text}), field)


def field_default(env_name: str) -> object:
    return Settings.model_fields[env_name.lower()].get_default(call_default_factory=True)


@pytest.fixture(scope="module")
def app_settings() -> dict[str, str]:
    return parse_app_settings(MAIN_BICEP.read_text())


@pytest.fixture(scope="module")
def azd_parameters() -> dict[str, tuple[str, str | None]]:
    return parse_azd_parameters(PARAMETERS_JSON.read_text())


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_names():
        monkeypatch.delenv(name, raising=False)


# --- the two directions -----------------------------------------------------------------------------------------------

def test_every_settings_field_is_set_by_the_template_or_documented_as_local_only(app_settings):
    assert missing_from_template(app_settings) == set()


def test_every_app_setting_is_read_by_the_code_or_belongs_to_the_platform(app_settings):
    assert unknown_to_code(app_settings) == set()


def test_local_only_fields_are_real_settings_fields_so_the_exemption_list_cannot_go_stale():
    assert set(LOCAL_ONLY_FIELDS) <= settings_names()


def test_local_only_fields_and_key_based_settings_are_never_set_in_azure(app_settings):
    assert set(app_settings) & (set(LOCAL_ONLY_FIELDS) | FORBIDDEN_IN_AZURE) == set()


def test_a_field_added_to_settings_but_not_to_the_template_is_reported(app_settings):
    class SettingsWithNewKnob(Settings):
        new_knob: int = 1

    assert missing_from_template(app_settings, SettingsWithNewKnob) == {"NEW_KNOB"}


def test_an_app_setting_no_code_reads_is_reported(app_settings):
    assert unknown_to_code({**app_settings, "DATAVERSE_URL": "dataverseUrls"}) == {"DATAVERSE_URL"}


# --- values that matter for security ----------------------------------------------------------------------------------

def test_token_encryption_key_comes_from_key_vault_not_from_plain_text(app_settings):
    assert app_settings["TOKEN_ENCRYPTION_KEY"].startswith("'@Microsoft.KeyVault(SecretUri=${")


def test_functions_host_reaches_storage_with_the_managed_identity_not_a_key(app_settings):
    assert app_settings["AzureWebJobsStorage__credential"] == "'managedidentity'"
    assert app_settings["AzureWebJobsStorage__clientId"] == "identity.outputs.clientId"
    assert app_settings["MANAGED_IDENTITY_CLIENT_ID"] == "identity.outputs.clientId"


def test_function_app_applies_exactly_the_assembled_settings():
    text = FUNCTION_APP_BICEP.read_text()
    assert text.count("name: 'appsettings'") == 1
    assert re.search(r"name: 'appsettings'\n  properties: appSettings\n", text)
    assert "appSettings:" not in text  # no second, inline list of settings inside siteConfig


# --- defaults azd feeds the template are the code's defaults -------------------------------------------------------

def test_azd_parameter_defaults_equal_the_settings_defaults(azd_parameters):
    checked = 0
    for env_name, default in azd_parameters.values():
        if env_name in settings_names() and default is not None:
            assert parse_with_settings(env_name, default) == field_default(env_name), env_name
            checked += 1
    assert checked >= 10  # the policy and tuning parameters, not a vacuous pass


def test_each_settings_parameter_feeds_the_app_setting_of_the_same_name(azd_parameters, app_settings):
    for param, (env_name, _) in azd_parameters.items():
        if env_name in settings_names():
            assert re.search(rf"\b{param}\b", app_settings[env_name]), f"{env_name} is not fed by param {param}"


def test_every_azd_parameter_exists_in_the_template_and_agrees_with_its_bicep_default(azd_parameters):
    bicep_params = parse_bicep_params(MAIN_BICEP.read_text())
    for param, (_, azd_default) in azd_parameters.items():
        assert param in bicep_params, param
        bicep_default = bicep_params[param]
        if bicep_default is not None and azd_default is not None:
            assert bicep_default.strip("'") == azd_default, param


def test_every_required_template_parameter_is_supplied_by_azd(azd_parameters):
    text = MAIN_BICEP.read_text()
    generated = set(re.findall(r"type: 'generate'.*\n(?:@.*\n)*param (\w+)", text))
    required = {name for name, default in parse_bicep_params(text).items() if default is None}
    assert required - set(azd_parameters) == generated == {"tokenEncryptionSeed"}


# --- the parser is strict ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "block",
    [
        "var appSettings = {\n  A: union({\n    B: 1\n  })\n}\n",  # a value spread over lines
        "var appSettings = {\n  A: 'x'\n  A: 'y'\n}\n",  # a key set twice
        "var appSettings = {\n  A: 'x'\n",  # never closed
        "var appSettings = {\n  'quoted-key': 'x'\n}\n",  # a key the parser does not understand
        "var appSettings = union(base, {\n  A: 'x'\n})\n",  # not the one flat literal
    ],
)
def test_parser_rejects_anything_but_one_flat_block_of_one_line_entries(block):
    with pytest.raises(TemplateFormatError):
        parse_app_settings(block)


def test_parser_reads_keys_and_values_and_skips_comments():
    block = "var appSettings = {\n  // comment\n  A: 'x'\n\n  B: string(c)\n}\nvar other = {\n  C: 1\n}\n"
    assert parse_app_settings(block) == {"A": "'x'", "B": "string(c)"}
