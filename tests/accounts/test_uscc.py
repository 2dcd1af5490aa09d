"""GB 32100-2015 unified social credit codes and GB 11714 organisation codes: real valid and invalid codes."""

from __future__ import annotations

import pytest

from app.accounts.uscc import (
    InvalidUSCC,
    is_valid_uscc,
    make_uscc,
    org_code_check_char,
    parse_uscc,
    uscc_check_char,
)

VALID = [
    # Published codes of well-known companies.
    ("91330100716105852F", "9", "1", "330100"),  # Alibaba (China) Co., Ltd., Hangzhou
    ("9144030071526726XG", "9", "1", "440300"),  # Shenzhen Tencent Computer Systems
    ("914403001922038216", "9", "1", "440300"),  # Huawei Technologies Co., Ltd.
    ("91110000802100433B", "9", "1", "110000"),  # Beijing Baidu Netcom Science and Technology
    ("91350100M000100Y43", "9", "1", "350100"),  # the example in GB 32100-2015 itself
]

INVALID = [
    ("91330100716105852G", "check"),  # last character altered
    ("9133010071610585", "length"),
    ("91330100716105852F0", "length"),
    ("91330100716105852I", "charset"),  # I is excluded
    ("9S330100716105852F", "charset"),  # S is excluded
    ("Z1330100716105852F", "charset"),  # Z is excluded
    ("B1330100716105852F", "authority"),  # no authority B
    ("94330100716105852F", "type"),  # authority 9 has types 1-3 only
    ("Y2330100716105852F", "type"),
    ("9100A100716105852F", "division"),
    ("91330100716105853F", "organisation-code"),  # org code check char wrong (2 expected)
    ("911100001000013340", "check"),
]


@pytest.mark.parametrize(("code", "authority", "kind", "division"), VALID)
def test_valid_codes(code: str, authority: str, kind: str, division: str) -> None:
    parsed = parse_uscc(code)
    assert (parsed.registration_authority, parsed.organisation_type, parsed.division) == (authority, kind, division)
    assert parsed.organisation_code == code[8:17]
    assert parsed.type_label == "企业"
    assert is_valid_uscc(code)


@pytest.mark.parametrize(("code", "reason"), INVALID)
def test_invalid_codes(code: str, reason: str) -> None:
    with pytest.raises(InvalidUSCC) as info:
        parse_uscc(code)
    assert info.value.reason == reason
    assert not is_valid_uscc(code)


def test_normalisation_accepts_lower_case_spaces_and_full_width() -> None:
    assert parse_uscc(" 9144 0300 7152 6726 xg ").code == "9144030071526726XG"
    assert parse_uscc("９１３３０１００７１６１０５８５２Ｆ").code == "91330100716105852F"


def test_organisation_code_check_character() -> None:
    # Check characters of the real codes above, including the X case.
    assert org_code_check_char("71610585") == "2"
    assert org_code_check_char("71526726") == "X"
    assert org_code_check_char("M000100Y") == "4"
    with pytest.raises(ValueError, match="8 digits"):
        org_code_check_char("7161058")


def test_check_character_weights_and_single_error_detection() -> None:
    code = "91350100M000100Y43"
    assert uscc_check_char(code[:17]) == "3"
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    # Any single substitution in the first 17 characters changes the check character (31 is prime).
    for pos in range(17):
        for c in charset:
            if c != code[pos]:
                mutated = code[:pos] + c + code[pos + 1 : 17]
                assert uscc_check_char(mutated) != "3"


def test_make_uscc_builds_valid_codes() -> None:
    code = make_uscc("9", "1", "130400", "MA0DEM01")
    assert len(code) == 18 and is_valid_uscc(code)
    assert parse_uscc(code).division == "130400"
