"""Dataverse user time zones: usersettings.timezonecode (a Microsoft time zone index) -> an IANA zone.

Date-times a model gives without an offset ("2026-03-13T14:00") are wall-clock times in the signed-in user's zone,
which Dataverse stores as a Microsoft index. This table covers the common zones; a code that is not in it raises
`UnknownTimeZoneError`, whose message tells the model to send an explicit offset instead (never a silent guess).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dataverse.tools.kit.errors import InvalidArgumentError

# Microsoft Time Zone Index Values (the codes Dataverse keeps in usersettings.timezonecode) -> IANA.
WINDOWS_TIMEZONE_CODES: dict[int, str] = {
    0: "Etc/GMT+12", 2: "Pacific/Honolulu", 3: "America/Anchorage", 4: "America/Los_Angeles",
    10: "America/Denver", 13: "America/Chihuahua", 15: "America/Phoenix", 20: "America/Chicago",
    25: "America/Regina", 30: "America/Mexico_City", 33: "America/Guatemala", 35: "America/New_York",
    40: "America/Indiana/Indianapolis", 45: "America/Bogota", 50: "America/Halifax", 55: "America/La_Paz",
    56: "America/Santiago", 60: "America/St_Johns", 65: "America/Sao_Paulo", 70: "America/Cayenne",
    80: "Atlantic/Azores", 83: "Atlantic/Cape_Verde", 85: "Europe/London", 90: "Atlantic/Reykjavik", 92: "UTC",
    95: "Europe/Budapest", 100: "Europe/Warsaw", 105: "Europe/Paris", 110: "Europe/Berlin", 113: "Africa/Lagos",
    120: "Africa/Cairo", 125: "Europe/Helsinki", 130: "Europe/Bucharest", 135: "Asia/Jerusalem",
    140: "Africa/Johannesburg", 145: "Europe/Moscow", 150: "Asia/Riyadh", 155: "Africa/Nairobi",
    158: "Asia/Baghdad", 160: "Asia/Tehran", 165: "Asia/Dubai", 170: "Asia/Yerevan", 175: "Asia/Kabul",
    180: "Asia/Yekaterinburg", 185: "Asia/Tashkent", 190: "Asia/Kolkata", 193: "Asia/Kathmandu",
    195: "Asia/Almaty", 200: "Asia/Colombo", 201: "Asia/Novosibirsk", 203: "Asia/Yangon", 205: "Asia/Bangkok",
    207: "Asia/Krasnoyarsk", 210: "Asia/Shanghai", 215: "Asia/Singapore", 220: "Asia/Taipei",
    225: "Australia/Perth", 227: "Asia/Irkutsk", 230: "Asia/Seoul", 235: "Asia/Tokyo", 240: "Asia/Yakutsk",
    245: "Australia/Darwin", 250: "Australia/Adelaide", 255: "Australia/Sydney", 260: "Australia/Brisbane",
    265: "Australia/Hobart", 270: "Asia/Vladivostok", 275: "Pacific/Port_Moresby", 280: "Pacific/Guadalcanal",
    285: "Pacific/Fiji", 290: "Pacific/Auckland", 300: "Pacific/Tongatapu",
}


class UnknownTimeZoneError(InvalidArgumentError):
    """The user's Dataverse time zone is not known here, so a time without an offset cannot be placed."""


def get_user_zone(timezone_code: int | None) -> ZoneInfo:
    """The IANA zone for a Dataverse time zone code; UnknownTimeZoneError when it is missing or not mapped."""
    name = WINDOWS_TIMEZONE_CODES.get(timezone_code) if timezone_code is not None else None
    if name is None:
        what = "has no time zone set" if timezone_code is None else f"has time zone code {timezone_code}"
        raise UnknownTimeZoneError(
            f"The signed-in user's Dataverse settings {what}, which this connector cannot convert, so a date-time "
            "without an offset is ambiguous. Send it with an explicit UTC offset, e.g. '2026-03-13T14:00:00-05:00', "
            "or in UTC with Z, e.g. '2026-03-13T19:00:00Z'."
        )
    return ZoneInfo(name)
