"""A small, real province → city → district table (省/市/区) for demo receivers.

Generic fake-address generators pair provinces and cities at random (山西省福州市); a demo that
shows 策略分仓 or a
map of orders by province must not.  This table covers the 31 mainland provincial divisions with
a few real prefecture-level cities each and a few real districts per city (current names, e.g.
杭州市 after the 2021 merger that ended 江干区/下城区).  Municipalities use their own name as the
city (北京市 北京市 朝阳区), as the platforms' receiver fields do.  Hong Kong, Macau and Taiwan are
left out: the demo sellers ship domestic parcels only.

``weight`` is a rough share of online orders, so 广东省 and 浙江省 dominate and 西藏自治区 is rare.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from itertools import accumulate


@dataclass(frozen=True)
class City:
    name: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class Province:
    name: str
    weight: float
    cities: tuple[City, ...]

    @property
    def is_municipality(self) -> bool:
        return len(self.cities) == 1 and self.cities[0].name == self.name


def _city(name: str, districts: str) -> City:
    return City(name, tuple(districts.split()))


def _municipality(name: str, weight: float, districts: str) -> Province:
    return Province(name, weight, (_city(name, districts),))


PROVINCES: tuple[Province, ...] = (
    _municipality("北京市", 5.0, "朝阳区 海淀区 东城区 西城区 丰台区 通州区 昌平区 大兴区"),
    _municipality("天津市", 2.0, "和平区 南开区 河西区 滨海新区 西青区"),
    _municipality(
        "上海市", 6.0, "浦东新区 徐汇区 静安区 黄浦区 长宁区 闵行区 宝山区 杨浦区 普陀区 松江区"
    ),
    _municipality("重庆市", 2.5, "渝中区 江北区 南岸区 九龙坡区 沙坪坝区 渝北区"),
    Province(
        "河北省",
        3.0,
        (
            _city("石家庄市", "长安区 桥西区 新华区 裕华区"),
            _city("保定市", "竞秀区 莲池区"),
            _city("唐山市", "路北区 路南区 丰润区"),
            _city("廊坊市", "广阳区 安次区"),
            _city("邯郸市", "邯山区 丛台区 复兴区"),
        ),
    ),
    Province(
        "山西省",
        1.5,
        (
            _city("太原市", "小店区 迎泽区 杏花岭区 万柏林区"),
            _city("大同市", "平城区 云冈区"),
            _city("晋中市", "榆次区"),
        ),
    ),
    Province(
        "内蒙古自治区",
        1.0,
        (
            _city("呼和浩特市", "新城区 回民区 赛罕区"),
            _city("包头市", "昆都仑区 青山区"),
            _city("鄂尔多斯市", "东胜区 康巴什区"),
        ),
    ),
    Province(
        "辽宁省",
        2.0,
        (
            _city("沈阳市", "和平区 沈河区 皇姑区 浑南区"),
            _city("大连市", "中山区 西岗区 沙河口区 甘井子区"),
        ),
    ),
    Province(
        "吉林省",
        1.0,
        (
            _city("长春市", "朝阳区 南关区 绿园区 二道区"),
            _city("吉林市", "船营区 昌邑区"),
        ),
    ),
    Province(
        "黑龙江省",
        1.0,
        (
            _city("哈尔滨市", "道里区 南岗区 香坊区 松北区"),
            _city("大庆市", "萨尔图区 让胡路区"),
        ),
    ),
    Province(
        "江苏省",
        9.0,
        (
            _city("南京市", "玄武区 秦淮区 鼓楼区 建邺区 江宁区"),
            _city("苏州市", "姑苏区 吴中区 相城区 虎丘区 吴江区"),
            _city("无锡市", "梁溪区 滨湖区 新吴区"),
            _city("常州市", "天宁区 钟楼区 武进区"),
            _city("南通市", "崇川区 通州区"),
            _city("徐州市", "鼓楼区 云龙区 泉山区"),
            _city("扬州市", "广陵区 邗江区"),
        ),
    ),
    Province(
        "浙江省",
        9.0,
        (
            _city("杭州市", "西湖区 上城区 拱墅区 滨江区 萧山区 余杭区"),
            _city("宁波市", "海曙区 江北区 鄞州区 北仑区"),
            _city("温州市", "鹿城区 龙湾区 瓯海区"),
            _city("金华市", "婺城区 金东区"),
            _city("嘉兴市", "南湖区 秀洲区"),
            _city("绍兴市", "越城区 柯桥区 上虞区"),
            _city("湖州市", "吴兴区 南浔区"),
            _city("台州市", "椒江区 黄岩区 路桥区"),
        ),
    ),
    Province(
        "安徽省",
        3.0,
        (
            _city("合肥市", "蜀山区 包河区 庐阳区 瑶海区"),
            _city("芜湖市", "镜湖区 鸠江区"),
            _city("蚌埠市", "蚌山区 龙子湖区"),
        ),
    ),
    Province(
        "福建省",
        4.0,
        (
            _city("福州市", "鼓楼区 台江区 仓山区 晋安区"),
            _city("厦门市", "思明区 湖里区 集美区 海沧区"),
            _city("泉州市", "鲤城区 丰泽区 洛江区"),
        ),
    ),
    Province(
        "江西省",
        2.0,
        (
            _city("南昌市", "东湖区 西湖区 青山湖区 红谷滩区"),
            _city("赣州市", "章贡区 南康区"),
            _city("九江市", "浔阳区 濂溪区"),
        ),
    ),
    Province(
        "山东省",
        6.0,
        (
            _city("济南市", "历下区 市中区 槐荫区 天桥区 历城区"),
            _city("青岛市", "市南区 市北区 黄岛区 崂山区 李沧区 城阳区"),
            _city("烟台市", "芝罘区 莱山区 福山区"),
            _city("潍坊市", "潍城区 奎文区 坊子区"),
            _city("临沂市", "兰山区 罗庄区 河东区"),
        ),
    ),
    Province(
        "河南省",
        5.0,
        (
            _city("郑州市", "中原区 二七区 金水区 管城回族区 惠济区"),
            _city("洛阳市", "西工区 老城区 涧西区 洛龙区"),
            _city("新乡市", "红旗区 卫滨区"),
            _city("南阳市", "宛城区 卧龙区"),
        ),
    ),
    Province(
        "湖北省",
        4.0,
        (
            _city("武汉市", "江岸区 江汉区 硚口区 武昌区 洪山区 汉阳区"),
            _city("宜昌市", "西陵区 伍家岗区"),
            _city("襄阳市", "襄城区 樊城区 襄州区"),
        ),
    ),
    Province(
        "湖南省",
        4.0,
        (
            _city("长沙市", "芙蓉区 天心区 岳麓区 开福区 雨花区"),
            _city("株洲市", "天元区 芦淞区 荷塘区"),
            _city("湘潭市", "雨湖区 岳塘区"),
            _city("岳阳市", "岳阳楼区 君山区"),
        ),
    ),
    Province(
        "广东省",
        12.0,
        (
            _city("广州市", "天河区 越秀区 海珠区 荔湾区 白云区 番禺区"),
            _city("深圳市", "南山区 福田区 罗湖区 宝安区 龙岗区 龙华区"),
            _city("佛山市", "禅城区 南海区 顺德区"),
            _city("珠海市", "香洲区 斗门区 金湾区"),
            _city("汕头市", "金平区 龙湖区"),
            _city("惠州市", "惠城区 惠阳区"),
            _city("江门市", "蓬江区 江海区 新会区"),
        ),
    ),
    Province(
        "广西壮族自治区",
        2.0,
        (
            _city("南宁市", "青秀区 兴宁区 江南区 西乡塘区"),
            _city("桂林市", "秀峰区 象山区 七星区"),
            _city("柳州市", "城中区 鱼峰区"),
        ),
    ),
    Province(
        "海南省",
        0.8,
        (
            _city("海口市", "龙华区 美兰区 秀英区 琼山区"),
            _city("三亚市", "吉阳区 天涯区 海棠区"),
        ),
    ),
    Province(
        "四川省",
        5.0,
        (
            _city("成都市", "锦江区 青羊区 金牛区 武侯区 成华区 郫都区 双流区"),
            _city("绵阳市", "涪城区 游仙区"),
            _city("宜宾市", "翠屏区 叙州区"),
            _city("南充市", "顺庆区 高坪区 嘉陵区"),
        ),
    ),
    Province(
        "贵州省",
        1.0,
        (
            _city("贵阳市", "南明区 云岩区 观山湖区 花溪区"),
            _city("遵义市", "红花岗区 汇川区"),
        ),
    ),
    Province(
        "云南省",
        2.0,
        (
            _city("昆明市", "五华区 盘龙区 官渡区 西山区 呈贡区"),
            _city("曲靖市", "麒麟区 沾益区"),
            _city("大理白族自治州", "大理市"),
        ),
    ),
    Province("西藏自治区", 0.1, (_city("拉萨市", "城关区 堆龙德庆区 达孜区"),)),
    Province(
        "陕西省",
        2.0,
        (
            _city("西安市", "雁塔区 碑林区 莲湖区 新城区 未央区 长安区"),
            _city("咸阳市", "秦都区 渭城区"),
            _city("宝鸡市", "渭滨区 金台区"),
        ),
    ),
    Province(
        "甘肃省",
        0.7,
        (
            _city("兰州市", "城关区 七里河区 安宁区 西固区"),
            _city("天水市", "秦州区 麦积区"),
        ),
    ),
    Province("青海省", 0.2, (_city("西宁市", "城东区 城中区 城西区 城北区"),)),
    Province(
        "宁夏回族自治区",
        0.3,
        (
            _city("银川市", "兴庆区 金凤区 西夏区"),
            _city("石嘴山市", "大武口区"),
        ),
    ),
    Province(
        "新疆维吾尔自治区",
        0.6,
        (
            _city("乌鲁木齐市", "天山区 沙依巴克区 新市区 水磨沟区"),
            _city("克拉玛依市", "克拉玛依区 独山子区"),
        ),
    ),
)

#: Where couriers charge more and sellers stop offering free shipping (偏远地区不包邮).
REMOTE_PROVINCES = frozenset(
    {"内蒙古自治区", "西藏自治区", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区"}
)


@cache
def province_names() -> frozenset[str]:
    return frozenset(p.name for p in PROVINCES)


@cache
def triples() -> frozenset[tuple[str, str, str]]:
    """Every (province, city, district) the table allows."""
    return frozenset((p.name, c.name, d) for p in PROVINCES for c in p.cities for d in c.districts)


def is_known(province: str, city: str, district: str) -> bool:
    return (province, city, district) in triples()


@cache
def _cumulative_weights() -> tuple[float, ...]:
    return tuple(accumulate(p.weight for p in PROVINCES))


def pick_place(rng: random.Random) -> tuple[str, str, str]:
    """A weighted random (province, city, district); the first city of a province is its
    capital or biggest city and gets half of the province's orders."""
    province = rng.choices(PROVINCES, cum_weights=_cumulative_weights())[0]
    cities = province.cities
    city = cities[0] if len(cities) == 1 or rng.random() < 0.5 else rng.choice(cities[1:])
    return province.name, city.name, rng.choice(city.districts)
