"""Demo products (商品) and their SKUs (规格): what the two demo sellers sell.

A product lists its variants; a clothing product's variants are colour × size.  SKU codes follow
the usual 商家编码 shape ``<product>-<colour>-<size>`` (``FZ-1001-BK-M``) and barcodes are
EAN-13 numbers under a GS1 China prefix (69…) with a correct check digit, so a scanner or a
barcode font accepts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class VariantSpec:
    code: str  # appended to the product code: "BK-M", "QX-250"
    label: str  # appended to the product name: "黑色 M", "清香型 250g"
    price_fen: int
    weight_g: int


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name: str
    category: str
    variants: tuple[VariantSpec, ...]
    #: Shipped by the seller's drop-ship supplier (代发), not from the seller's warehouses.
    drop_ship: bool = False


@dataclass(frozen=True)
class SkuDraft:
    code: str
    name: str
    barcode: str
    price_fen: int
    weight_g: int
    product_index: int  # position of its product in the catalog
    drop_ship: bool


# -- EAN-13 ------------------------------------------------------------------------------------
def ean13_check_digit(first12: str) -> int:
    """GS1 check digit: weights 1,3,1,3… from the left over the first 12 digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"EAN-13 needs 12 digits before the check digit, got {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def ean13(company_prefix: str, item: int) -> str:
    """The barcode of item number ``item`` under a 7-digit company prefix (69xxxxx)."""
    if len(company_prefix) != 7 or not company_prefix.isdigit():
        raise ValueError("company prefix must be 7 digits")
    if not 0 <= item < 100_000:
        raise ValueError("item reference must fit in 5 digits")
    body = f"{company_prefix}{item:05d}"
    return f"{body}{ean13_check_digit(body)}"


def is_valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == int(code[12])


# -- apparel -----------------------------------------------------------------------------------
COLOURS: dict[str, str] = {
    "BK": "黑色",
    "WH": "白色",
    "GY": "灰色",
    "NV": "藏青色",
    "KH": "卡其色",
    "BG": "米白色",
    "PK": "粉色",
    "GN": "军绿色",
    "BL": "雾霾蓝",
    "RD": "酒红色",
    "BR": "咖啡色",
    "DB": "深蓝色",
    "LB": "浅蓝色",
    "PR": "碎花",
    "MX": "混色",
}
TOPS = ("S", "M", "L", "XL", "XXL")
FITTED = ("S", "M", "L", "XL")
WAIST = ("28", "29", "30", "31", "32", "33", "34")
ONE_SIZE = ("F",)  # 均码


def apparel(
    colours: str,
    sizes: Sequence[str],
    price_yuan: int,
    weight_g: int,
    *,
    big_size_extra_yuan: int = 0,
) -> tuple[VariantSpec, ...]:
    """Colour × size variants; bigger sizes weigh a little more (and may cost more)."""
    variants = []
    for colour in colours.split():
        for index, size in enumerate(sizes):
            extra = big_size_extra_yuan if size == "XXL" else 0
            label = f"{COLOURS[colour]} {'均码' if size == 'F' else size}"
            variants.append(
                VariantSpec(
                    code=f"{colour}-{size}",
                    label=label,
                    price_fen=(price_yuan + extra) * 100,
                    weight_g=round(weight_g * (1 + 0.04 * index)),
                )
            )
    return tuple(variants)


def _p(
    code: str, name: str, category: str, variants: tuple[VariantSpec, ...], drop_ship: bool = False
) -> ProductSpec:
    return ProductSpec(code, name, category, variants, drop_ship)


def _v(*specs: tuple[str, str, float, int]) -> tuple[VariantSpec, ...]:
    """Explicit variants: (code, label, price in yuan, weight in grams incl. packaging)."""
    return tuple(VariantSpec(c, label, round(yuan * 100), w) for c, label, yuan, w in specs)


#: 杭州 apparel seller: ~360 SKUs; accessories are drop-shipped by a 义乌 supplier.
APPAREL_PRODUCTS: tuple[ProductSpec, ...] = (
    _p("FZ-1001", "纯棉圆领短袖T恤", "T恤", apparel("BK WH GY NV KH", TOPS, 69, 180)),
    _p("FZ-1002", "重磅宽松落肩T恤", "T恤", apparel("BK WH BG GN", TOPS, 89, 260)),
    _p("FZ-1003", "冰丝速干运动T恤", "T恤", apparel("BK GY BL", TOPS, 79, 150)),
    _p("FZ-1004", "商务翻领POLO衫", "POLO衫", apparel("BK WH NV", TOPS, 129, 230)),
    _p("FZ-1005", "牛津纺长袖衬衫", "衬衫", apparel("WH LB PK", TOPS, 149, 260)),
    _p("FZ-1006", "亚麻休闲衬衫", "衬衫", apparel("WH BG KH", TOPS, 169, 220)),
    _p("FZ-1007", "连帽加绒卫衣", "卫衣", apparel("BK GY GN BG", TOPS, 189, 520)),
    _p("FZ-1008", "圆领华夫格卫衣", "卫衣", apparel("BG GY NV", TOPS, 159, 450)),
    _p(
        "FZ-1009",
        "羊毛混纺圆领毛衣",
        "针织衫",
        apparel("BG GY RD NV", TOPS, 259, 380, big_size_extra_yuan=10),
    ),
    _p("FZ-1010", "开衫针织外套", "针织衫", apparel("BG BK BR", FITTED, 229, 400)),
    _p(
        "FZ-1011",
        "防风连帽冲锋衣",
        "外套",
        apparel("BK NV GN", TOPS, 399, 680, big_size_extra_yuan=20),
    ),
    _p("FZ-1012", "工装夹克", "外套", apparel("KH BK GN", TOPS, 299, 700, big_size_extra_yuan=10)),
    _p(
        "FZ-1013",
        "轻薄羽绒服",
        "羽绒服",
        apparel("BK NV BG RD", TOPS, 499, 450, big_size_extra_yuan=20),
    ),
    _p(
        "FZ-1014",
        "加厚长款羽绒服",
        "羽绒服",
        apparel("BK WH KH", TOPS, 899, 1100, big_size_extra_yuan=30),
    ),
    _p("FZ-1015", "双面羊绒大衣", "大衣", apparel("BR BG GY", FITTED, 1299, 1300)),
    _p("FZ-1016", "直筒牛仔裤", "牛仔裤", apparel("DB LB BK", WAIST, 199, 650)),
    _p("FZ-1017", "弹力修身牛仔裤", "牛仔裤", apparel("DB BK", WAIST, 219, 600)),
    _p("FZ-1018", "休闲束脚卫裤", "休闲裤", apparel("BK GY", TOPS, 139, 420)),
    _p("FZ-1019", "垂感阔腿西裤", "休闲裤", apparel("BK KH BG", FITTED, 179, 380)),
    _p("FZ-1020", "法式碎花连衣裙", "连衣裙", apparel("PR BL", FITTED, 239, 300)),
    _p("FZ-1021", "针织吊带连衣裙", "连衣裙", apparel("BK BG", FITTED, 189, 260)),
    _p("FZ-1022", "高腰A字半身裙", "半身裙", apparel("BK KH", FITTED, 159, 240)),
    _p("FZ-1023", "百褶半身长裙", "半身裙", apparel("BK GY NV", FITTED, 179, 280)),
    _p("PJ-3001", "纯棉中筒袜5双装", "袜子", apparel("BK WH MX", ONE_SIZE, 39, 200), True),
    _p("PJ-3002", "刺绣棒球帽", "帽子", apparel("BK WH KH NV", ONE_SIZE, 59, 120), True),
    _p("PJ-3003", "针织毛线帽", "帽子", apparel("BK GY RD BG", ONE_SIZE, 49, 100), True),
    _p("PJ-3004", "羊毛围巾", "围巾", apparel("GY RD BR", ONE_SIZE, 129, 180), True),
    _p("PJ-3005", "帆布托特包", "包袋", apparel("BG BK", ONE_SIZE, 69, 300), True),
)

#: 福建 tea and snacks seller: fewer, heavier-margin SKUs; tea sets drop-shipped from 德化.
TEA_PRODUCTS: tuple[ProductSpec, ...] = (
    _p("CY-2001", "安溪铁观音", "乌龙茶", _v(
        ("QX-250", "清香型 250g罐装", 128, 280), ("QX-500", "清香型 500g礼盒", 268, 750),
        ("NX-250", "浓香型 250g罐装", 118, 280), ("NX-500", "浓香型 500g礼盒", 248, 750),
    )),
    _p("CY-2002", "武夷山大红袍", "乌龙茶", _v(
        ("TJ-250", "特级 250g罐装", 198, 300), ("TJ-500", "特级 500g礼盒", 388, 800),
        ("YJ-250", "一级 250g罐装", 138, 300),
    )),
    _p("CY-2003", "福鼎白茶白牡丹", "白茶", _v(
        ("SC-250", "散茶 250g", 98, 280), ("BC-350", "饼茶 350g", 158, 420),
    )),
    _p("CY-2004", "福州茉莉花茶", "花茶", _v(
        ("G-100", "100g罐装", 48, 160), ("D-250", "250g袋装", 88, 280),
    )),
    _p("CY-2005", "正山小种红茶", "红茶", _v(
        ("250", "250g罐装", 89, 280), ("500", "500g礼盒", 169, 700),
    )),
    _p("CY-2006", "金骏眉红茶", "红茶", _v(
        ("125", "125g罐装", 168, 200), ("250", "250g礼盒", 298, 450),
    )),
    _p("CY-2007", "云南普洱熟茶饼", "黑茶", _v(
        ("D1", "357g单饼", 68, 400), ("T7", "357g×7提装", 398, 2700),
    )),
    _p("SP-5001", "厦门馅饼", "糕点", _v(
        ("LD-6", "绿豆 6个装", 29.9, 360), ("LD-12", "绿豆 12个装", 49.9, 700),
        ("RS-6", "肉松 6个装", 32.9, 360), ("RS-12", "肉松 12个装", 55.9, 700),
    )),
    _p("SP-5002", "凤梨酥", "糕点", _v(
        ("10", "10枚礼盒", 49.9, 450), ("20", "20枚礼盒", 89.9, 880),
    )),
    _p("SP-5003", "炭烤猪肉脯", "肉脯", _v(
        ("YW-200", "原味 200g", 29.9, 230), ("XL-200", "香辣 200g", 29.9, 230),
        ("HJ-200", "黑椒 200g", 29.9, 230), ("YW-500", "原味 500g", 64.9, 560),
    )),
    _p("SP-5004", "鱼皮花生", "坚果炒货", _v(
        ("YW", "原味 500g", 19.9, 540), ("XL", "香辣 500g", 19.9, 540),
    )),
    _p("SP-5005", "每日坚果", "坚果炒货", _v(
        ("YW", "原味 25g×30袋", 119, 900), ("FM", "蜂蜜味 25g×30袋", 129, 900),
    )),
    _p("SP-5006", "手工牛轧糖", "糖果", _v(
        ("YW", "原味 500g", 45.9, 540), ("MC", "抹茶味 500g", 48.9, 540),
        ("MY", "蔓越莓味 500g", 48.9, 540),
    )),
    _p("SP-5007", "厦门沙茶酱", "调味品", _v(
        ("250", "250g", 15.9, 320), ("500", "500g", 25.9, 600),
    )),
    _p("SP-5008", "芒果干", "蜜饯果脯", _v(
        ("100", "100g", 9.9, 120), ("500", "500g", 39.9, 540),
    )),
    _p("CJ-8001", "德化白瓷盖碗", "茶具", _v(
        ("DZ", "单只", 39, 350), ("TZ", "一壶四杯套装", 128, 1400),
    ), drop_ship=True),
    _p("CJ-8002", "便携旅行茶具套装", "茶具", _v(
        ("BK", "黑色", 89, 900), ("WH", "白色", 89, 900),
    ), drop_ship=True),
)  # fmt: skip


def build_skus(products: Sequence[ProductSpec], company_prefix: str) -> list[SkuDraft]:
    """Every variant of every product as a SKU, barcodes numbered in catalog order."""
    skus: list[SkuDraft] = []
    for product_index, product in enumerate(products):
        for variant in product.variants:
            skus.append(
                SkuDraft(
                    code=f"{product.code}-{variant.code}",
                    name=f"{product.name} {variant.label}",
                    barcode=ean13(company_prefix, len(skus) + 1),
                    price_fen=variant.price_fen,
                    weight_g=variant.weight_g,
                    product_index=product_index,
                    drop_ship=product.drop_ship,
                )
            )
    return skus
