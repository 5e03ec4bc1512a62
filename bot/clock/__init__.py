"""The clock process (`deploybot clock`): one scheduler that sends what is due."""
