Rails.application.routes.draw do
  get "/ok", to: "orders#ok"
  get "/checkout", to: "orders#checkout"
  get "/slow", to: "orders#slow"
  get "/login", to: "orders#login"
  get "/orders", to: "orders#index"
  get "/export", to: "orders#export"
  get "/report", to: "orders#report"
end
