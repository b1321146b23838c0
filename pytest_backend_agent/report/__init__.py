"""The implementation report and the stage-completion signal: models, building, writing."""
