"""Several runners on one PostgreSQL: leases spread the roster's bots and chats over them."""
