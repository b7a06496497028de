"""Operations views: the indexer's progress as the API sees it in the database."""
