"""What tests share: a clock they advance, waiting without sleeps, people and pages."""
