class OrdersController < ApplicationController
  def ok
    render plain: "ok"
  end

  # An uncaught exception in the app's own code (KeyError from Cart#total).
  def checkout
    cart = Cart.new([{ price: 5, quantity: 1 }, { quantity: 2 }])
    render plain: cart.total.to_s
  end

  # Holds its thread until the test kills the worker.
  def slow
    sleep 30
    render plain: "late"
  end

  # Hashes a password with far too many PBKDF2 rounds: OpenSSL holds Ruby's interpreter lock
  # the whole time, so the worker cannot check in with Puma's master, which kills it.
  def login
    digest = OpenSSL::KDF.pbkdf2_hmac("secret", salt: "salt", iterations: 50_000_000,
                                                length: 32, hash: "sha256")
    render plain: digest.unpack1("H*")
  end

  # A query through ActiveRecord: fails when the database refuses the app.
  def index
    render plain: ActiveRecord::Base.connection.select_value("SELECT count(*) FROM pg_tables").to_s
  end

  # Writes an export where the lab mounted a filesystem too small for it: Errno::ENOSPC.
  def export
    File.write(File.join(ENV.fetch("EXPORT_DIR"), "orders.csv"), "order,total\n" * 100_000)
    render plain: "exported"
  end

  # Builds a report far bigger than memory: Ruby's allocation fails with NoMemoryError.
  def report
    render plain: "order," * (1 << 40)
  end
end
