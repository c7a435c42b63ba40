"""Demo catalog: SKU codes in the 商家编码 style and EAN-13 barcodes with correct check digits."""

from __future__ import annotations

import re

import pytest

from demo.catalog import build_skus, ean13, ean13_check_digit, is_valid_ean13
from demo.profiles import DEMO, DEMO2, PROFILES, DemoProfile

SKU_CODE = re.compile(r"^[A-Z]{2}-\d{4}-[A-Z0-9]+(-[A-Z0-9]+)?$")


@pytest.mark.parametrize(
    "barcode",
    ["4006381333931", "9780306406157", "6901234567892", "5901234123457"],
)
def test_check_digit_of_known_barcodes(barcode: str) -> None:
    assert ean13_check_digit(barcode[:12]) == int(barcode[12])
    assert is_valid_ean13(barcode)


def test_wrong_check_digit_or_shape_is_rejected() -> None:
    assert not is_valid_ean13("4006381333932")
    assert not is_valid_ean13("400638133393")
    assert not is_valid_ean13("40063813339a1")
    with pytest.raises(ValueError):
        ean13_check_digit("12345")
    with pytest.raises(ValueError):
        ean13("69712", 1)
    with pytest.raises(ValueError):
        ean13("6971234", 100_000)


def test_check_digit_zero_case() -> None:
    # Sum divisible by 10 must give 0, not 10.
    item = next(n for n in range(100) if ean13_check_digit(f"6971234{n:05d}") == 0)
    assert ean13("6971234", item) == f"6971234{item:05d}0"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.slug)
def test_skus_have_unique_codes_and_valid_barcodes(profile: DemoProfile) -> None:
    skus = build_skus(profile.products, profile.barcode_prefix)
    codes = [s.code for s in skus]
    barcodes = [s.barcode for s in skus]
    assert len(set(codes)) == len(codes)
    assert len(set(barcodes)) == len(barcodes)
    assert all(SKU_CODE.match(code) for code in codes), [c for c in codes if not SKU_CODE.match(c)]
    assert all(is_valid_ean13(b) and b.startswith("69") for b in barcodes)
    assert all(s.price_fen > 0 and s.weight_g > 0 for s in skus)
    assert any(s.drop_ship for s in skus), "the supplier needs something to ship"
    product_codes = [p.code for p in profile.products]
    assert len(set(product_codes)) == len(product_codes)


def test_the_main_seller_has_a_few_hundred_skus_and_the_second_is_different() -> None:
    main = build_skus(DEMO.products, DEMO.barcode_prefix)
    second = build_skus(DEMO2.products, DEMO2.barcode_prefix)
    assert 250 <= len(main) <= 500
    assert 20 <= len(second) < len(main)
    assert {s.code for s in main}.isdisjoint(s.code for s in second)
    assert "FZ-1001-BK-M" in {s.code for s in main}
    bigger = {s.code: s.weight_g for s in main}
    assert bigger["FZ-1001-BK-XXL"] > bigger["FZ-1001-BK-S"]
