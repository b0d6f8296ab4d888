# The lab's Rails app, served by Puma (tests/lab/rails.rs).
require_relative "config/environment"
run Rails.application
