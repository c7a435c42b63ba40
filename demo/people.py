"""Demo buyers and receivers: Chinese names, platform nicknames, mobile numbers and street
addresses, drawn from the planner's seeded ``random.Random``.

Plain tables of common surnames, given-name characters, pinyin syllables and street names, so a
seed gives the same people on every machine and with every library version, and the demo needs
no data package of its own.  Places (省/市/区) come from ``geo.py``.
"""

from __future__ import annotations

import random
from itertools import accumulate

# The most common surnames, roughly by how many people carry them (王 and 李 about 7 % each).
_SURNAMES = (
    ("王", 72), ("李", 70), ("张", 66), ("刘", 53), ("陈", 46), ("杨", 32), ("黄", 24),
    ("赵", 20), ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 13), ("郭", 12), ("何", 11), ("林", 10), ("高", 10), ("罗", 10), ("郑", 9),
    ("梁", 9), ("谢", 7), ("宋", 7), ("唐", 7), ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6),
    ("曹", 6), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 5), ("潘", 5),
    ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 4),
    ("魏", 4), ("吕", 4), ("丁", 4), ("任", 4), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3),
    ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3),
    ("廖", 3), ("贾", 3), ("夏", 3), ("韦", 3), ("方", 3), ("白", 2), ("邹", 2), ("孟", 2),
    ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("段", 2), ("雷", 2),
    ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2),
    ("郝", 2), ("龚", 2), ("邵", 2), ("万", 2), ("钱", 2), ("严", 2), ("武", 2), ("戴", 2),
    ("欧阳", 1), ("上官", 0.3), ("司马", 0.3),
)  # fmt: skip
_SURNAME_NAMES = tuple(name for name, _ in _SURNAMES)
_SURNAME_CUM = tuple(accumulate(weight for _, weight in _SURNAMES))

_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "霞", "平", "刚", "辉", "玲", "桂", "英", "华", "建", "文", "斌", "宇", "浩",
    "凯", "鹏", "婷", "雪", "琳", "晨", "欣", "怡", "佳", "子", "梓", "涵", "轩", "雨", "萱",
    "博", "俊", "嘉", "思", "诗", "悦", "瑶", "晓", "红", "海", "波", "亮", "飞", "鑫", "倩",
    "颖", "慧", "莉", "洁", "燕", "丹", "兰", "凤", "梅", "秀", "志", "国", "云", "峰", "晶",
    "航", "睿", "泽", "逸", "然", "宁", "安", "昊", "天", "乐", "一", "彤", "可", "馨", "妍",
)  # fmt: skip

_SYLLABLES = (
    "xiao", "ming", "hua", "li", "jun", "wei", "fang", "yun", "lan", "hong", "tian", "yu",
    "xin", "le", "an", "ning", "qing", "feng", "yang", "chen", "lin", "mei", "jia", "hao",
    "zi", "yi", "bo", "kai", "rui", "xue", "tao", "jie", "lu", "shan", "meng", "yue",
)  # fmt: skip
_NICK_ENDINGS = ("", "", "", "_", "0", "88", "99", "666", "520", "1314", "cat", "er")

# Mobile number prefixes of the three carriers (号段); a number is prefix + 8 digits.
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176",
    "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191",
    "198", "199",
)  # fmt: skip

_STREET_STEMS = (
    "中山", "人民", "解放", "建设", "和平", "文化", "新华", "长江", "黄河", "延安", "胜利",
    "青年", "东风", "光明", "友谊", "复兴", "民主", "学府", "滨江", "湖滨", "环城", "体育",
    "府前", "朝阳", "南京", "北京", "上海", "科技", "创业", "迎宾", "金桥", "银河", "花园",
    "凤凰", "丰收", "红旗", "幸福", "工业", "海滨", "育才",
)  # fmt: skip
_STREET_SUFFIXES = ("路", "路", "路", "街", "大道", "东路", "西路", "南路", "北路", "中路")


def person_name(rng: random.Random) -> str:
    """A full name: surname, then a one- or (more often) two-character given name."""
    surname = rng.choices(_SURNAME_NAMES, cum_weights=_SURNAME_CUM)[0]
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return surname + given


def latin_nick(rng: random.Random) -> str:
    """A nickname of the kind buyers pick on Taobao (two pinyin syllables, a lucky ending)."""
    return "".join(rng.choices(_SYLLABLES, k=2)) + rng.choice(_NICK_ENDINGS)


def mobile_number(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def street(rng: random.Random) -> str:
    """A street and house number (``中山东路128号``): the part of an address after the
    district."""
    return f"{rng.choice(_STREET_STEMS)}{rng.choice(_STREET_SUFFIXES)}{rng.randint(1, 999)}号"
