"""Operations (城市决策): the operations centre's read model of cases, and the KPIs, league tables,
trends and hotspots computed from it."""
