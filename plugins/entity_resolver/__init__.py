"""Entity resolution for catalog slots: g2p, phonetic + lexical embeddings, faiss retrieval (issue 6)."""

from .resolver import Entry, Match, Resolver

__all__ = ["Resolver", "Match", "Entry"]
