<?php
function charge($amount) {
    throw new RuntimeException('payment gateway returned 402');
}
charge(10);
