"""Real headlines: read from the news feeds bots.yaml names, cleaned, and remembered so each is news once.

feed    a feed's body (RSS or Atom) -> Headlines, the items skipped and why; the HTTP fetch
store   which headlines were seen (across refreshes and restarts) and which chat was told which
"""

from piyasa_bot.news.feed import FeedError, Headline, ParsedFeed, fetch_feed, parse_feed

__all__ = ["FeedError", "Headline", "ParsedFeed", "fetch_feed", "parse_feed"]
