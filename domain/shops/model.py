"""Shops (店铺) and the marketplaces (渠道) they sell on."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    TAOBAO = "TAOBAO"  # 淘宝
    TMALL = "TMALL"  # 天猫
    JD = "JD"  # 京东
    PDD = "PDD"  # 拼多多
    DOUYIN = "DOUYIN"  # 抖音
    MANUAL = "MANUAL"  # 手工单: WeChat, offline and other hand-entered sales
