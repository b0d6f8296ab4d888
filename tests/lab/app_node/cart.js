'use strict';

// A cart whose total breaks on an item without a price: the app's own bug.
function cartTotal(items) {
  return items.reduce((sum, item) => sum + item.price.toFixed(2) * item.quantity, 0);
}

module.exports = { cartTotal };
