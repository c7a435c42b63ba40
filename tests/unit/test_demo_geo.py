"""The demo's province/city/district table: real, consistent, and what the warehouses name."""

from __future__ import annotations

import random

from demo import geo
from demo.profiles import PROFILES

SUFFIXES = ("省", "市", "自治区")


def test_covers_the_31_mainland_provinces_once_each() -> None:
    names = [p.name for p in geo.PROVINCES]
    assert len(names) == 31
    assert len(set(names)) == 31
    assert all(name.endswith(SUFFIXES) for name in names)
    assert {"北京市", "上海市", "广东省", "新疆维吾尔自治区", "广西壮族自治区"} <= set(names)


def test_every_province_has_cities_and_every_city_districts() -> None:
    for province in geo.PROVINCES:
        assert province.weight > 0
        assert province.cities
        city_names = [c.name for c in province.cities]
        assert len(city_names) == len(set(city_names)), province.name
        for city in province.cities:
            assert city.name.endswith(("市", "州")), city.name
            assert city.districts, city.name
            assert len(city.districts) == len(set(city.districts)), city.name
            assert all(d.endswith(("区", "市", "县")) for d in city.districts), city.name


def test_municipalities_are_their_own_city() -> None:
    municipalities = {p.name for p in geo.PROVINCES if p.is_municipality}
    assert municipalities == {"北京市", "天津市", "上海市", "重庆市"}


def test_known_pairs_are_there_and_random_mixups_are_not() -> None:
    assert geo.is_known("广东省", "深圳市", "南山区")
    assert geo.is_known("浙江省", "杭州市", "西湖区")
    assert geo.is_known("北京市", "北京市", "朝阳区")
    assert not geo.is_known("山西省", "福州市", "鼓楼区")  # a random generator would say so
    assert not geo.is_known("广东省", "深圳市", "西湖区")
    # Same district name in two cities is fine as long as each pair is right.
    assert geo.is_known("福建省", "福州市", "鼓楼区")
    assert geo.is_known("江苏省", "南京市", "鼓楼区")


def test_pick_place_is_deterministic_and_always_known() -> None:
    first = [geo.pick_place(random.Random(5)) for _ in range(3)]
    assert first == [geo.pick_place(random.Random(5)) for _ in range(3)]
    rng = random.Random(1)
    places = [geo.pick_place(rng) for _ in range(5000)]
    assert all(geo.is_known(*place) for place in places)
    provinces = [p for p, _, _ in places]
    # Weighted: the big e-commerce provinces dominate, the remote ones are rare.
    assert provinces.count("广东省") > provinces.count("甘肃省") * 5
    assert len(set(provinces)) >= 28


def test_warehouse_provinces_and_remote_list_use_table_names() -> None:
    names = geo.province_names()
    assert names >= geo.REMOTE_PROVINCES
    for profile in PROFILES:
        for warehouse in profile.warehouses:
            assert set(warehouse.provinces) <= names, warehouse.name
