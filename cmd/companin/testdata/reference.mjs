// The API reference's JavaScript examples, verbatim except for the base URL
// and credentials, which the Go test substitutes before running this file
// under Node. The "Gebruiksvoorbeeld" (usage) blocks run at the end; their
// results are printed as JSON for the test to check.

// --- Klantenservice Chatbot ---
// 1. Widget-token ophalen voor browsergebaseerde chat
async function getWidgetToken() {
  const response = await fetch('https://app.companin.tech/api/v1/auth/widget-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: 'YOUR_CLIENT_ID' })
  });
  return (await response.json()).token;
}
// 2. Een sessie maken voor anonieme bezoeker
async function startSupportSession(token, assistantId) {
  const response = await fetch('https://app.companin.tech/api/v1/sessions/', {
    method: 'POST',
    headers: {
      'Authorization': `Bearer ${token}`,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      assistant_id: assistantId,
      visitor_id: 'visitor-' + Date.now(),
      metadata: { source: 'support_widget' }
    })
  });
  return await response.json();
}
// 3. Klantbericht verzenden en AI-antwoord krijgen
async function sendMessage(token, sessionId, message) {
  const response = await fetch(`https://app.companin.tech/api/v1/sessions/${sessionId}/messages`, {
    method: 'POST',
    headers: {
      'Authorization': `Bearer ${token}`,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      content: message,
      metadata: { user_type: 'customer' }
    })
  });
  return await response.json();
}

// --- E-commerce Productassistent ---
// 1. Gebruikerscontext maken voor personalisatie
async function createUserContext(userId, userData) {
  const response = await fetch('https://app.companin.tech/api/v1/contexts/', {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      user_reference: userId,
      traits: {
        name: userData.name,
        purchase_history: userData.purchases,
        preferences: userData.preferences
      }
    })
  });
  return await response.json();
}
// 2. Persistente conversatie maken met context
async function startPersonalizedChat(assistantId, userId) {
  const response = await fetch('https://app.companin.tech/api/v1/conversations/', {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      assistant_id: assistantId,
      customer_id: userId,
      user_context_id: userId,
      title: 'Product Recommendations',
      metadata: { source: 'product_page' }
    })
  });
  return await response.json();
}
// 3. Chatten met productkennis
async function askAboutProduct(conversationId, question) {
  const response = await fetch(`https://app.companin.tech/api/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      content: question,
      metadata: { context: 'product_inquiry' }
    })
  });
  return await response.json();
}

// --- Kennisbeheersysteem ---
// 1. Productdocumentatie uploaden
async function uploadDocumentation(file, title) {
  const formData = new FormData();
  formData.append('title', title);
  formData.append('file_type', 'pdf');
  formData.append('file', file);
  const response = await fetch('https://app.companin.tech/api/v1/knowledge/files/', {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET'
    },
    body: formData
  });
  return await response.json();
}
// 2. FAQ-items toevoegen
async function addFAQ(question, answer, tags) {
  const response = await fetch('https://app.companin.tech/api/v1/knowledge/qa/', {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      question,
      answer,
      tags,
      source: 'manual'
    })
  });
  return await response.json();
}

// 3. Webinhoud toevoegen
async function addWebContent(url, title) {
  const response = await fetch('https://app.companin.tech/api/v1/knowledge/urls/', {
    method: 'POST',
    headers: {
      'X-API-Key': 'YOUR_CLIENT_ID',
      'X-API-Secret': 'YOUR_CLIENT_SECRET',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      url,
      title
    })
  });
  return await response.json();
}

// --- Voorbeelden: Sessie Aanmaken ---
async function sessieAanmaken(token) {
  return await (await fetch('https://app.companin.tech/api/v1/sessions', {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ assistant_id: 'ASSISTANT_UUID' })
  })).json();
}

// --- Gebruiksvoorbeeld ---
// The reference leaves pdfFile to the page (a File from an <input>); here it
// is a Blob of a small PDF the Go test wrote.
const { readFileSync } = await import('node:fs');
const pdfFile = new Blob([readFileSync('PDF_PATH')], { type: 'application/pdf' });
const out = {};
const fileUpload = await uploadDocumentation(pdfFile, 'User Manual v2.0');
out.fileUpload = fileUpload;
const webContent = await addWebContent(
  'https://example.tech/blog/new-features',
  'Aankondiging van nieuwe functies'
);
out.webContent = webContent;
const faq = await addFAQ(
  'Hoe reset ik mijn wachtwoord?',
  'Ga naar instellingen en klik op "Wachtwoord resetten"...',
  ['password', 'security']
);
out.faq = faq;

const token = await getWidgetToken();
const session = await startSupportSession(token, 'ASSISTANT_UUID');
out.session = session;
out.result = await sendMessage(token, session.data.id, 'Ik heb hulp nodig met mijn bestelling');
out.resetAnswer = await sendMessage(token, session.data.id, 'Hoe reset ik mijn wachtwoord?');

await createUserContext('user-123', {
  name: 'Alice',
  purchases: ['laptop-1', 'mouse-2'],
  preferences: { category: 'electronics' }
});
const conversation = await startPersonalizedChat('ASSISTANT_UUID', 'user-123');
out.conversation = conversation;
out.product = await askAboutProduct(conversation.data.id, 'Welke laptop raad je aan?');
out.sessie = await sessieAanmaken(token);

console.log(JSON.stringify(out));
