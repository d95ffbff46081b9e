"""flkit demo Flower app: numpy logistic regression for the appliance and its E2E tests."""
