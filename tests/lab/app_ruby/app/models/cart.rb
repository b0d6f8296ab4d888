# A cart whose total breaks on an item without a price: the app's own bug.
class Cart
  def initialize(items)
    @items = items
  end

  def total
    @items.sum { |item| item.fetch(:price) * item.fetch(:quantity) }
  end
end
