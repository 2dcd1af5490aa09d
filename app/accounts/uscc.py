"""Unified social credit code (统一社会信用代码, GB 32100-2015) and organisation code (GB 11714) checks."""

from __future__ import annotations

from dataclasses import dataclass

# GB 32100-2015 §4: Arabic digits and upper-case Latin letters except I, O, Z, S, V.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
# Weight of position i (1-based) is 3^(i-1) mod 31.
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]

# GB 11714-1997: body weights and values (digits 0-9, letters A=10 … Z=35).
ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

# Registration authority code -> allowed organisation type codes (GB 32100-2015 table 1 and later
# additions published by the national standardisation administration).
REGISTRATION_TYPES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常住新闻机构", "9": "其他"},
    "3": {
        "1": "律师执业机构",
        "2": "公证处",
        "3": "基层法律服务所",
        "4": "司法鉴定机构",
        "5": "仲裁委员会",
        "9": "其他",
    },
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Y": {"1": "其他"},
}


class InvalidUSCC(ValueError):
    """The code is not a valid unified social credit code; `reason` is a short machine-readable cause."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class USCC:
    code: str
    registration_authority: str
    organisation_type: str
    division: str
    organisation_code: str

    @property
    def type_label(self) -> str:
        return REGISTRATION_TYPES[self.registration_authority][self.organisation_type]


def _char_value(c: str) -> int:
    if c.isdigit():
        return ord(c) - ord("0")
    return ord(c) - ord("A") + 10


def org_code_check_char(body: str) -> str:
    """The GB 11714 check character for the 8-character organisation code body."""
    if len(body) != 8 or any(not (c.isdigit() or "A" <= c <= "Z") for c in body):
        raise ValueError("organisation code body must be 8 digits or upper-case letters")
    total = sum(_char_value(c) * w for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character (18th) for the first 17 characters."""
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise ValueError("need 17 characters from the USCC character set")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def normalise(raw: str) -> str:
    """Strip spaces and upper-case; full-width digits and letters are folded to ASCII."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in raw)
    return "".join(folded.split()).upper()


def parse_uscc(raw: str) -> USCC:
    """Validate and split a unified social credit code; raises InvalidUSCC with the first failing rule."""
    code = normalise(raw)
    if len(code) != 18:
        raise InvalidUSCC("length", "a unified social credit code has 18 characters")
    bad = [c for c in code if c not in _USCC_VALUE]
    if bad:
        raise InvalidUSCC("charset", "only digits and capital letters other than I, O, Z, S, V are allowed")
    authority, kind = code[0], code[1]
    if authority not in REGISTRATION_TYPES:
        raise InvalidUSCC("authority", "the first character is not a registration authority code")
    if kind not in REGISTRATION_TYPES[authority]:
        raise InvalidUSCC("type", "the second character is not an organisation type of that registration authority")
    division = code[2:8]
    if not division.isdigit() or division[:2] == "00":
        raise InvalidUSCC("division", "characters 3-8 must be an administrative division code")
    org = code[8:17]
    if org_code_check_char(org[:8]) != org[8]:
        raise InvalidUSCC("organisation-code", "the organisation code (characters 9-17) has a wrong check character")
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidUSCC("check", "the check character (18th) is wrong")
    return USCC(code, authority, kind, division, org)


def is_valid_uscc(raw: str) -> bool:
    try:
        parse_uscc(raw)
    except InvalidUSCC:
        return False
    return True


def make_uscc(authority: str, kind: str, division: str, org_body: str) -> str:
    """Assemble a valid code from its parts, computing both check characters (demo data and tests)."""
    first17 = authority + kind + division + org_body + org_code_check_char(org_body)
    return first17 + uscc_check_char(first17)
