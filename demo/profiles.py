"""The two demo sellers: who they are, where they sell, ship from, and who works there.

Passwords are fixed strings (``<org>-<username>-2026``), not derived from the seed, so a second
``orderflow demo`` on the same data directory can print the same logins without storing them.
"""

from __future__ import annotations

from dataclasses import dataclass

from demo.catalog import APPAREL_PRODUCTS, TEA_PRODUCTS, ProductSpec
from domain.accounts.model import Role
from domain.shops.model import Channel


@dataclass(frozen=True)
class ShopSpec:
    channel: Channel
    name: str
    share: float  # share of the seller's orders


@dataclass(frozen=True)
class WarehouseSpec:
    code: str
    name: str
    address: str
    provinces: tuple[str, ...]  # 策略分仓: provinces this warehouse ships to first
    priority: int


@dataclass(frozen=True)
class UserSpec:
    role: Role
    username: str
    display_name: str


@dataclass(frozen=True)
class DemoProfile:
    slug: str
    name: str
    shops: tuple[ShopSpec, ...]
    warehouses: tuple[WarehouseSpec, ...]
    supplier_name: str
    #: The drop-ship supplier's stock (代发仓), kept as a warehouse of its own: reservation sees
    #: what the supplier has, and orders never take drop-ship goods from our shelves.
    supplier_warehouse: WarehouseSpec
    users: tuple[UserSpec, ...]
    products: tuple[ProductSpec, ...]
    barcode_prefix: str  # 7-digit GS1 China company prefix
    order_share: float  # orders = round(orders_per_org * order_share)
    buyer_remarks: tuple[str, ...]
    staff_remarks: tuple[str, ...]
    after_sale_reasons: tuple[str, ...]

    def password(self, username: str) -> str:
        return f"{self.slug}-{username}-2026"


def _provinces(names: str) -> tuple[str, ...]:
    return tuple(names.split())


_COMMON_BUYER_REMARKS = (
    "请尽快发货",
    "不要放快递柜",
    "放门卫室就行, 谢谢",
    "送货前请先打电话",
    "工作日白天家里没人, 请放驿站",
    "不要发韵达",
    "能今天发吗? 着急用",
    "需要开发票, 抬头稍后发给客服",
)

_COMMON_STAFF_REMARKS = (
    "已电话联系买家确认收货地址",
    "买家要求发顺丰, 已补运费差价",
    "老客户, 随单附感谢卡",
    "买家要求开电子发票, 已登记",
    "买家改了收货地址, 已同步修改",
)

DEMO = DemoProfile(
    slug="demo",
    name="杭州拾光服饰旗舰店",
    shops=(
        ShopSpec(Channel.TMALL, "拾光服饰天猫旗舰店", 0.30),
        ShopSpec(Channel.TAOBAO, "拾光服饰淘宝店", 0.18),
        ShopSpec(Channel.JD, "拾光服饰京东旗舰店", 0.15),
        ShopSpec(Channel.PDD, "拾光服饰拼多多店", 0.16),
        ShopSpec(Channel.DOUYIN, "拾光服饰抖音小店", 0.17),
        ShopSpec(Channel.MANUAL, "手工单 (微信/线下)", 0.04),
    ),
    warehouses=(
        WarehouseSpec(
            "HZ01",
            "杭州仓",
            "浙江省杭州市余杭区仁和街道仓储路18号",
            _provinces(
                "浙江省 江苏省 上海市 安徽省 江西省 山东省 北京市 天津市 河北省"
                " 河南省 湖北省 山西省 辽宁省 吉林省 黑龙江省 内蒙古自治区 陕西省"
            ),
            10,
        ),
        WarehouseSpec(
            "GZ01",
            "广州仓",
            "广东省广州市白云区太和镇物流园B区6栋",
            _provinces("广东省 广西壮族自治区 福建省 海南省 湖南省 云南省 贵州省 四川省 重庆市"),
            20,
        ),
    ),
    supplier_name="义乌鑫源饰品代发",
    supplier_warehouse=WarehouseSpec(
        "DS01", "义乌鑫源代发仓", "浙江省金华市义乌市福田街道国际商贸城二区", (), 90
    ),
    users=(
        UserSpec(Role.OWNER, "owner", "陈总"),
        UserSpec(Role.MANAGER, "manager", "李主管"),
        UserSpec(Role.OPERATOR, "operator", "张运营"),
        UserSpec(Role.WAREHOUSE, "warehouse", "刘仓管"),
        UserSpec(Role.SERVICE, "service", "小美 (客服)"),
        UserSpec(Role.SUPPLIER, "supplier", "义乌代发-周"),
    ),
    products=APPAREL_PRODUCTS,
    barcode_prefix="6971234",
    order_share=1.0,
    buyer_remarks=(
        *_COMMON_BUYER_REMARKS,
        "尺码拿不准, 按身高170体重65发",
        "送人的, 不要放价格单",
        "麻烦检查一下有没有线头",
    ),
    staff_remarks=(*_COMMON_STAFF_REMARKS, "买家要求换大一码, 已改SKU", "赠品: 纯棉袜一双"),
    after_sale_reasons=(
        "买家申请退货退款: 尺码不合适",
        "买家申请退货退款: 颜色与图片不符",
        "买家申请换货: 换大一码",
        "买家反馈有线头, 申请部分退款",
        "七天无理由退货",
    ),
)

DEMO2 = DemoProfile(
    slug="demo2",
    name="福建闽南茶语特产店",
    shops=(
        ShopSpec(Channel.TAOBAO, "闽南茶语淘宝店", 0.45),
        ShopSpec(Channel.PDD, "闽南茶语拼多多店", 0.25),
        ShopSpec(Channel.DOUYIN, "闽南茶语抖音小店", 0.22),
        ShopSpec(Channel.MANUAL, "手工单 (老客户微信)", 0.08),
    ),
    warehouses=(
        WarehouseSpec(
            "FZ01",
            "福州仓",
            "福建省福州市仓山区盖山镇物流园3号库",
            _provinces("福建省 浙江省 江西省 广东省 广西壮族自治区 海南省 上海市 江苏省 湖南省"),
            10,
        ),
        WarehouseSpec(
            "ZZ01",
            "郑州仓",
            "河南省郑州市管城回族区航海东路云仓园",
            _provinces("河南省 河北省 山东省 北京市 天津市 山西省 陕西省 湖北省 安徽省"),
            20,
        ),
    ),
    supplier_name="德化瓷都茶具代发厂",
    supplier_warehouse=WarehouseSpec(
        "DS01", "德化瓷都代发仓", "福建省泉州市德化县浔中镇陶瓷街88号", (), 90
    ),
    users=(
        UserSpec(Role.OWNER, "owner", "林老板"),
        UserSpec(Role.MANAGER, "manager", "黄主管"),
        UserSpec(Role.OPERATOR, "operator", "吴运营"),
        UserSpec(Role.WAREHOUSE, "warehouse", "郑仓管"),
        UserSpec(Role.SERVICE, "service", "阿琳 (客服)"),
        UserSpec(Role.SUPPLIER, "supplier", "德化代发-苏"),
    ),
    products=TEA_PRODUCTS,
    barcode_prefix="6935862",
    order_share=0.3,
    buyer_remarks=(
        *_COMMON_BUYER_REMARKS,
        "送礼用, 请放礼品袋",
        "请写上生产日期",
        "茶叶请多包几层, 怕压",
    ),
    staff_remarks=(*_COMMON_STAFF_REMARKS, "赠品: 试饮装两泡"),
    after_sale_reasons=(
        "买家反馈包装破损, 申请部分退款",
        "买家反馈口感不符, 申请退货",
        "快递延误, 买家申请补偿",
        "七天无理由退货 (未拆封)",
    ),
)

PROFILES: tuple[DemoProfile, ...] = (DEMO, DEMO2)
