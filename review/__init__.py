"""Review: the holds a submission check makes, and the data team's decisions on them."""
