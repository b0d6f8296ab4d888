# A Rails app as `rails new --minimal` would configure its production environment, written by
# hand: Debian's Rails gems are installed system-wide, so it needs no Bundler and no network.
require "rails"
require "active_record/railtie"
require "action_controller/railtie"

# A Rack middleware in front of Rails' own error handling, where throttling and request-logging
# gems sit: what it raises never reaches Rails' handler, so Puma answers 500 and logs it itself.
class Throttle
  def initialize(app)
    @app = app
  end

  def call(env)
    raise ArgumentError, "no throttle rule for #{env["PATH_INFO"]}" if env["PATH_INFO"] == "/throttled"

    @app.call(env)
  end
end

# Holds the response to a request with the query `hold` until the file `HOLD_FILE` exists (at
# most 30 s): the lab makes a request whose exception Rails logged first reach nginx last.
class Hold
  def initialize(app)
    @app = app
  end

  def call(env)
    response = @app.call(env)
    if env["QUERY_STRING"] == "hold"
      deadline = Time.now + 30
      sleep 0.01 until File.exist?(ENV.fetch("HOLD_FILE")) || Time.now > deadline
    end
    response
  end
end

class Shop < Rails::Application
  config.load_defaults 6.1
  config.eager_load = true
  # Rails' debug exception pages: off, as production.rb has it, unless the lab asks for the
  # misconfiguration (tests/probe_lab.rs: RAILS_SHOW_ERRORS=1).
  config.consider_all_requests_local = ENV["RAILS_SHOW_ERRORS"] == "1"
  config.secret_key_base = "lab-only-secret"
  # What `rails new` puts in config/environments/production.rb.
  config.log_level = :info
  config.log_tags = [:request_id]
  config.log_formatter = ::Logger::Formatter.new
  config.active_record.dump_schema_after_migration = false
  config.middleware.insert_before 0, Throttle
  config.middleware.insert_before 0, Hold
end
