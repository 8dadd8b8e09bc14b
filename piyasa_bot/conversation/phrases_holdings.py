"""Phrase bank, part 5: a bot speaking from its own position ("290'dan aldığım THYAO'lar %5 kârda").

Slots: {asset} (the held thing's bare name: "THYAO", "gram altın", "dolar"),
{assets} (what "aldığım ..." takes: "THYAO'lar", "altınlar"; absent where no
one says it, e.g. for an index), {cost} ("290"), {cost_from} ("290'dan", the
suffix read from the number), {amount} ("100 lot THYAO"; only with a size),
{pnl} ("%5,2"; only with a fresh quote). A template is used only when every
slot it names is known, so "kârda/zararda" is never said without a quote.

Profit and loss are stated about the past and the present, never promised:
no template says what the position will make.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeldName:
    asset: str
    assets: str | None = None  # None: "9.500'den aldığım ..." is not how people speak of it
    amount: str | None = None  # "{n} lot THYAO"; None: no size is said this way


HELD_NAMES: dict[str, HeldName] = {
    "GRAM": HeldName("gram altın", "altınlar", "{n} gram altın"),
    "ONS": HeldName("ons altın", None, "{n} ons altın"),
    "USDTRY": HeldName("dolar", "dolarlar", "{n} dolar"),
    "EURTRY": HeldName("euro", "eurolar", "{n} euro"),
    "BTC": HeldName("BTC", "BTC'ler", "{n} BTC"),
    "ETH": HeldName("ETH", "ETH'ler", "{n} ETH"),
    "SOL": HeldName("SOL", "SOL'lar", "{n} SOL"),
    "BRENT": HeldName("brent"),
    "XU100": HeldName("endeks"),
    "XU030": HeldName("BIST30"),
}
# A BIST stock not listed above: HeldName(code, code + "'" + plural suffix, "{n} lot " + code).

PROFIT = (
    "{cost_from} aldığım {assets} şu an {pnl} kârda",
    "{cost_from} topladığım {assets} {pnl} kârda, acelem yok",
    "benim {asset} maliyetim {cost}, şu an {pnl} kârdayım",
    "{asset} maliyetim {cost}, {pnl} kârdayım ama acele etmiyorum",
    "elimde {amount} var, maliyet {cost}; şimdilik {pnl} kârdayım",
    "{asset} tarafında {cost_from} girmiştim, şu an {pnl} kârdayım",
    "{amount} ile {pnl} kârdayım, maliyetim {cost}",
    "{cost_from} aldığım {assets} iyi gidiyor, {pnl} kârdayım",
)
PROFIT_SMALL = (
    "{cost_from} aldığım {assets} hafif kârda",
    "benim {asset} maliyetim {cost}, azıcık kârdayım",
    "{asset} tarafında {cost_from} girmiştim, şimdilik az da olsa kârdayım",
    "elimde {amount} var, maliyet {cost}; biraz kârdayım",
    "{cost_from} topladığım {assets} ancak {pnl} kârda",
)
PROFIT_BIG = (
    "{cost_from} aldığım {assets} {pnl} kârda, epey oldu",
    "{asset} tarafında {cost_from} girmiştim, {pnl} kârdayım; bir kısmında kâr almayı düşünüyorum",
    "benim {asset} maliyetim {cost}, {pnl} kârdayım, keyfim yerinde",
)
LOSS = (
    "{cost_from} aldığım {assets} şu an {pnl} zararda",
    "benim {asset} maliyetim {cost}, {pnl} zarardayım, sabırla bekliyorum",
    "{cost_from} topladığım {assets} hâlâ zararda, {pnl}",
    "elimde {amount} var, maliyet {cost}; şimdilik {pnl} zarardayım",
    "{asset} tarafında {cost_from} girmiştim, {pnl} zarardayım",
    "{asset} maliyetim {cost}, yani {pnl} zarardayım; panik yok",
    "{cost_from} aldığım {assets} beni üzüyor, {pnl} zarardayım",
    "{amount} ile {pnl} zarardayım, maliyetim {cost}",
)
LOSS_SMALL = (
    "{cost_from} aldığım {assets} biraz zararda",
    "benim {asset} maliyetim {cost}, biraz zarardayım",
    "{asset} tarafında {cost_from} girmiştim, az da olsa zarardayım",
    "elimde {amount} var, maliyet {cost}; hafif zarardayım",
    "{cost_from} topladığım {assets} maliyetin biraz altında",
)
LOSS_BIG = (
    "{cost_from} aldığım {assets} {pnl} zararda, zor günler",
    "{asset} maliyetim {cost}; {pnl} zarardayım, artık uzun vadeye bıraktım",
    "{asset} tarafında {cost_from} girmiştim, {pnl} zarardayım, canım sıkkın",
)
EVEN = (
    "benim {asset} maliyetim {cost}, şu an başa baş sayılır",
    "{cost_from} aldığım {assets} maliyetin hemen yanında",
    "elimde {amount} var, {cost} maliyetle; şimdilik ne kâr ne zarar",
    "{asset} tarafında {cost_from} girmiştim, şu an başa başım",
    "{asset} maliyetim {cost}, fiyat neredeyse tam maliyetimde",
)
# No fresh quote: the cost only, no profit or loss.
NO_QUOTE = (
    "{cost_from} aldığım {assets} hâlâ elimde",
    "{asset} tarafında {cost} maliyetle pozisyonum var",
    "elimde {amount} var, maliyetim {cost}",
    "benim {asset} maliyetim {cost}, ona göre bakıyorum",
    "{asset} tarafında {cost_from} girmiştim, pozisyon duruyor",
    "{cost_from} topladığım {assets} yerinde duruyor",
)
