"""Countries: NetSuite's ``Country`` enumeration and ISO 3166-1 alpha-2 codes, both ways.

SuiteTalk writes an address's ``country`` as a value of the ``Country`` enumeration of Oracle's
``platform.commonTypes.xsd`` (``_unitedStates``, ``_czechia``...); the SDK's model uses ISO 3166-1 alpha-2 codes
(``US``, ``CZ``). The table below holds all 252 values of the 2023_2 enumeration (the XSD ships, unchanged, in this
package's ``wsdl/2023_2`` folder). 249 are the ISO 3166-1 countries; three are codes outside ISO 3166-1 that
NetSuite lists as countries: ``_canaryIslands`` (``IC``) and ``_ceutaAndMelilla`` (``EA``), both exceptionally
reserved by ISO 3166/MA, and ``_kosovo`` (``XK``, the user-assigned code the EU and most carriers use).

The table is a literal (no XML parsing, no pycountry at import time). It was derived from the XSD by matching each
value's words with pycountry's names, and ``tests/test_netsuite_countries.py`` checks it against both: every value of
the XSD (the packaged copy and Oracle's own in the shared specs) maps to exactly one code, every ISO 3166-1 country
pycountry knows has a value, and each pair's names agree.

An unknown value is never passed through: reading one raises :class:`UnknownCountry` (the driver turns it into a
``PayloadError`` naming the order and the address field), and an ISO code NetSuite has no value for is refused
before anything is sent, instead of going into an enumeration field NetSuite would reject or misread.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "COUNTRY_TO_ISO",
    "ISO_TO_COUNTRY",
    "UnknownCountry",
    "country_from_iso",
    "iso_from_country",
]


class UnknownCountry(ValueError):
    """A country NetSuite's enumeration (or ISO 3166-1, the other way) has no entry for. ``value`` is what was
    given; ``field`` names the address field when the caller knows it."""

    def __init__(self, value: str, problem: str, field: str = "") -> None:
        self.value = value
        self.field = field
        super().__init__(problem)


# Oracle's Country enumeration (2023_2), in the XSD's order, with the ISO 3166-1 alpha-2 code of each.
_TABLE: dict[str, str] = {
    "_afghanistan": "AF",
    "_alandIslands": "AX",
    "_albania": "AL",
    "_algeria": "DZ",
    "_americanSamoa": "AS",
    "_andorra": "AD",
    "_angola": "AO",
    "_anguilla": "AI",
    "_antarctica": "AQ",
    "_antiguaAndBarbuda": "AG",
    "_argentina": "AR",
    "_armenia": "AM",
    "_aruba": "AW",
    "_australia": "AU",
    "_austria": "AT",
    "_azerbaijan": "AZ",
    "_bahamas": "BS",
    "_bahrain": "BH",
    "_bangladesh": "BD",
    "_barbados": "BB",
    "_belarus": "BY",
    "_belgium": "BE",
    "_belize": "BZ",
    "_benin": "BJ",
    "_bermuda": "BM",
    "_bhutan": "BT",
    "_boliviaPlurinationalStateOf": "BO",
    "_bonaireSintEustatiusAndSaba": "BQ",
    "_bosniaAndHerzegovina": "BA",
    "_botswana": "BW",
    "_bouvetIsland": "BV",
    "_brazil": "BR",
    "_britishIndianOceanTerritory": "IO",
    "_bruneiDarussalam": "BN",
    "_bulgaria": "BG",
    "_burkinaFaso": "BF",
    "_burundi": "BI",
    "_caboVerde": "CV",
    "_cambodia": "KH",
    "_cameroon": "CM",
    "_canada": "CA",
    "_canaryIslands": "IC",
    "_caymanIslands": "KY",
    "_centralAfricanRepublic": "CF",
    "_ceutaAndMelilla": "EA",
    "_chad": "TD",
    "_chile": "CL",
    "_china": "CN",
    "_christmasIsland": "CX",
    "_cocosKeelingIslands": "CC",
    "_colombia": "CO",
    "_comoros": "KM",
    "_congo": "CG",
    "_congoTheDemocraticRepublicOfThe": "CD",
    "_cookIslands": "CK",
    "_costaRica": "CR",
    "_coteDIvoire": "CI",
    "_croatia": "HR",
    "_cuba": "CU",
    "_curacao": "CW",
    "_cyprus": "CY",
    "_czechia": "CZ",
    "_denmark": "DK",
    "_djibouti": "DJ",
    "_dominica": "DM",
    "_dominicanRepublic": "DO",
    "_ecuador": "EC",
    "_egypt": "EG",
    "_elSalvador": "SV",
    "_equatorialGuinea": "GQ",
    "_eritrea": "ER",
    "_estonia": "EE",
    "_eswatini": "SZ",
    "_ethiopia": "ET",
    "_falklandIslandsMalvinas": "FK",
    "_faroeIslands": "FO",
    "_fiji": "FJ",
    "_finland": "FI",
    "_france": "FR",
    "_frenchGuiana": "GF",
    "_frenchPolynesia": "PF",
    "_frenchSouthernTerritories": "TF",
    "_gabon": "GA",
    "_gambia": "GM",
    "_georgia": "GE",
    "_germany": "DE",
    "_ghana": "GH",
    "_gibraltar": "GI",
    "_greece": "GR",
    "_greenland": "GL",
    "_grenada": "GD",
    "_guadeloupe": "GP",
    "_guam": "GU",
    "_guatemala": "GT",
    "_guernsey": "GG",
    "_guinea": "GN",
    "_guineaBissau": "GW",
    "_guyana": "GY",
    "_haiti": "HT",
    "_heardIslandAndMcdonaldIslands": "HM",
    "_holySee": "VA",
    "_honduras": "HN",
    "_hongKong": "HK",
    "_hungary": "HU",
    "_iceland": "IS",
    "_india": "IN",
    "_indonesia": "ID",
    "_iranIslamicRepublicOf": "IR",
    "_iraq": "IQ",
    "_ireland": "IE",
    "_isleOfMan": "IM",
    "_israel": "IL",
    "_italy": "IT",
    "_jamaica": "JM",
    "_japan": "JP",
    "_jersey": "JE",
    "_jordan": "JO",
    "_kazakhstan": "KZ",
    "_kenya": "KE",
    "_kiribati": "KI",
    "_koreaTheDemocraticPeoplesRepublicOf": "KP",
    "_koreaTheRepublicOf": "KR",
    "_kosovo": "XK",
    "_kuwait": "KW",
    "_kyrgyzstan": "KG",
    "_laoPeoplesDemocraticRepublic": "LA",
    "_latvia": "LV",
    "_lebanon": "LB",
    "_lesotho": "LS",
    "_liberia": "LR",
    "_libya": "LY",
    "_liechtenstein": "LI",
    "_lithuania": "LT",
    "_luxembourg": "LU",
    "_macao": "MO",
    "_madagascar": "MG",
    "_malawi": "MW",
    "_malaysia": "MY",
    "_maldives": "MV",
    "_mali": "ML",
    "_malta": "MT",
    "_marshallIslands": "MH",
    "_martinique": "MQ",
    "_mauritania": "MR",
    "_mauritius": "MU",
    "_mayotte": "YT",
    "_mexico": "MX",
    "_micronesiaFederatedStatesOf": "FM",
    "_moldovaTheRepublicOf": "MD",
    "_monaco": "MC",
    "_mongolia": "MN",
    "_montenegro": "ME",
    "_montserrat": "MS",
    "_morocco": "MA",
    "_mozambique": "MZ",
    "_myanmar": "MM",
    "_namibia": "NA",
    "_nauru": "NR",
    "_nepal": "NP",
    "_netherlands": "NL",
    "_newCaledonia": "NC",
    "_newZealand": "NZ",
    "_nicaragua": "NI",
    "_niger": "NE",
    "_nigeria": "NG",
    "_niue": "NU",
    "_norfolkIsland": "NF",
    "_northernMarianaIslands": "MP",
    "_northMacedonia": "MK",
    "_norway": "NO",
    "_oman": "OM",
    "_pakistan": "PK",
    "_palau": "PW",
    "_palestineStateOf": "PS",
    "_panama": "PA",
    "_papuaNewGuinea": "PG",
    "_paraguay": "PY",
    "_peru": "PE",
    "_philippines": "PH",
    "_pitcairn": "PN",
    "_poland": "PL",
    "_portugal": "PT",
    "_puertoRico": "PR",
    "_qatar": "QA",
    "_reunion": "RE",
    "_romania": "RO",
    "_russianFederation": "RU",
    "_rwanda": "RW",
    "_saintBarthelemy": "BL",
    "_saintHelenaAscensionAndTristanDaCunha": "SH",
    "_saintKittsAndNevis": "KN",
    "_saintLucia": "LC",
    "_saintMartinFrenchPart": "MF",
    "_saintPierreAndMiquelon": "PM",
    "_saintVincentAndTheGrenadines": "VC",
    "_samoa": "WS",
    "_sanMarino": "SM",
    "_saoTomeAndPrincipe": "ST",
    "_saudiArabia": "SA",
    "_senegal": "SN",
    "_serbia": "RS",
    "_seychelles": "SC",
    "_sierraLeone": "SL",
    "_singapore": "SG",
    "_sintMaartenDutchPart": "SX",
    "_slovakia": "SK",
    "_slovenia": "SI",
    "_solomonIslands": "SB",
    "_somalia": "SO",
    "_southAfrica": "ZA",
    "_southGeorgiaAndTheSouthSandwichIslands": "GS",
    "_southSudan": "SS",
    "_spain": "ES",
    "_sriLanka": "LK",
    "_sudan": "SD",
    "_suriname": "SR",
    "_svalbardAndJanMayen": "SJ",
    "_sweden": "SE",
    "_switzerland": "CH",
    "_syrianArabRepublic": "SY",
    "_taiwan": "TW",
    "_tajikistan": "TJ",
    "_tanzaniaTheUnitedRepublicOf": "TZ",
    "_thailand": "TH",
    "_timorLeste": "TL",
    "_togo": "TG",
    "_tokelau": "TK",
    "_tonga": "TO",
    "_trinidadAndTobago": "TT",
    "_tunisia": "TN",
    "_turkiye": "TR",
    "_turkmenistan": "TM",
    "_turksAndCaicosIslands": "TC",
    "_tuvalu": "TV",
    "_uganda": "UG",
    "_ukraine": "UA",
    "_unitedArabEmirates": "AE",
    "_unitedKingdom": "GB",
    "_unitedStates": "US",
    "_unitedStatesMinorOutlyingIslands": "UM",
    "_uruguay": "UY",
    "_uzbekistan": "UZ",
    "_vanuatu": "VU",
    "_venezuelaBolivarianRepublicOf": "VE",
    "_vietNam": "VN",
    "_virginIslandsBritish": "VG",
    "_virginIslandsUS": "VI",
    "_wallisAndFutunaIslands": "WF",
    "_westernSahara": "EH",
    "_yemen": "YE",
    "_zambia": "ZM",
    "_zimbabwe": "ZW",
}

COUNTRY_TO_ISO: Mapping[str, str] = MappingProxyType(_TABLE)
"""NetSuite ``Country`` value -> ISO 3166-1 alpha-2 code (all 252 values of the 2023_2 enumeration)."""
ISO_TO_COUNTRY: Mapping[str, str] = MappingProxyType({iso: value for value, iso in _TABLE.items()})
"""ISO 3166-1 alpha-2 code -> NetSuite ``Country`` value (the inverse of :data:`COUNTRY_TO_ISO`)."""


def iso_from_country(value: str, field: str = "country") -> str:
    """The ISO code of a NetSuite ``Country`` value (``""`` for an empty one); :class:`UnknownCountry` for a value
    the enumeration does not have (a newer endpoint version's country, or junk)."""
    text = value.strip()
    if not text:
        return ""
    try:
        return _TABLE[text]
    except KeyError:
        raise UnknownCountry(text, f"{text!r} is not a value of NetSuite's Country enumeration", field) from None


def country_from_iso(code: str, field: str = "country") -> str:
    """The NetSuite ``Country`` value for an ISO 3166-1 alpha-2 code (any case; a value of the enumeration itself
    is taken as it is). ``""`` for an empty one; :class:`UnknownCountry` for anything else, so an ISO code or a
    country name never goes into an enumeration field."""
    text = code.strip()
    if not text:
        return ""
    if text in _TABLE:
        return text
    try:
        return ISO_TO_COUNTRY[text.upper()]
    except KeyError:
        raise UnknownCountry(
            text, f"{text!r} is not an ISO 3166-1 alpha-2 code NetSuite has a country for", field
        ) from None
