"""Real quotes: fetched from the sources bots.yaml names, checked, and kept in one cache.

observation.py   what a source said about one symbol, and when
parsers.py       a source's body (TCMB today.xml, Binance 24hr ticker, Yahoo v8 chart) -> observations
sanity.py        what is not news: HTML, empty bodies, a price of 0, a 50% jump in a minute
fetch.py         one HTTP request to a source, bounded in time and size
"""
