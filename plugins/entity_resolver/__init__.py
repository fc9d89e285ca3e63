"""Entity resolution for catalog slots: g2p, phonetic + lexical embeddings, faiss retrieval (issue 6)."""
