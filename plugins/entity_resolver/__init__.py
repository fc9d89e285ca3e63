"""Entity resolution for catalog slots: g2p, phonetic + lexical embeddings, faiss retrieval (issue 6).

``Resolver`` is the library API (any catalog, any scorer); ``EntityResolverPlugin`` is the engine's
``hark_resolve`` / ``hark_compile`` implementation over the skills' catalogs (registered as ``entity_resolver``).
"""

from .catalog import Entry
from .plugin import EntityResolverPlugin, ResolverSettings
from .resolver import Match, Resolver

__all__ = ["Resolver", "Match", "Entry", "EntityResolverPlugin", "ResolverSettings"]
